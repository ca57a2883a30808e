import { CommandHandler } from '@nestjs/cqrs';

import { BUCKETS_PROJECTION } from '../../../../projections/storage';
import { uuidV5 } from '../../../common/ids';
import { throwIfInvalid } from '../../../compute/domain/validation';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { bucketDecider, bucketNameProblems } from '../../domain';
import { StorageAccess } from '../storage-access';
import { BUCKET_QUOTA } from '../storage-quotas';

export interface BucketChanged {
  bucketId: string;
  name: string;
}

/**
 * POST /storage/buckets: the name is reserved across tenants first (409 bucket_already_exists or
 * bucket_already_owned_by_you), then the bucket is recorded; if that fails the name is released.
 */
export class CreateBucket extends UseCaseCommand<BucketChanged> {
  constructor(
    readonly name: string,
    readonly isPublic: boolean,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateBucket)
export class CreateBucketHandler extends UseCaseHandler<CreateBucket, BucketChanged> {
  constructor(
    private readonly access: StorageAccess,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({ name, isPublic, ctx }: CreateBucket): Promise<Handled<BucketChanged>> {
    const tenantId = tenantOf(ctx);
    throwIfInvalid(bucketNameProblems(name, 'name'));
    const bucketId = uuidV5(`bucket/${ctx.commandId}`);
    // Checked in this order so that a refusal appends nothing: the name (409), the quota (403,
    // the ledger refuses without appending); only a lost race for the name releases the quota.
    await this.access.assertNameFree(name, bucketId, tenantId, ctx.now);
    await this.quotas.reserve(
      tenantId,
      { id: bucketId, kind: 'bucket' },
      { [BUCKET_QUOTA]: 1 },
      ctx,
    );
    try {
      await this.access.reserveName(name, bucketId, tenantId, ctx);
    } catch (err) {
      await this.quotas.release(tenantId, bucketId, ctx).catch(() => undefined);
      throw err;
    }
    try {
      const result = await this.access.executor.execute(
        bucketDecider,
        bucketId,
        { type: 'CreateBucket', bucketId, tenantId, name, isPublic, now: ctx.now },
        ctx,
        { expectNew: true },
      );
      return {
        result: { bucketId, name },
        written: [written(result.position, BUCKETS_PROJECTION)],
      };
    } catch (err) {
      await this.access.releaseName(name, bucketId, ctx);
      await this.quotas.release(tenantId, bucketId, ctx).catch(() => undefined);
      throw err;
    }
  }
}
