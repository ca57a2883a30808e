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
import { bucketDecider, bucketNameProblems } from '../../domain';
import { StorageAccess } from '../storage-access';

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
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle({ name, isPublic, ctx }: CreateBucket): Promise<Handled<BucketChanged>> {
    const tenantId = tenantOf(ctx);
    throwIfInvalid(bucketNameProblems(name, 'name'));
    const bucketId = uuidV5(`bucket/${ctx.commandId}`);
    await this.access.reserveName(name, bucketId, tenantId, ctx);
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
      throw err;
    }
  }
}
