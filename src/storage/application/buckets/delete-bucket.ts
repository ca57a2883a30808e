import { CommandHandler } from '@nestjs/cqrs';

import {
  BUCKETS_PROJECTION,
  MULTIPART_PROJECTION,
  OBJECTS_PROJECTION,
} from '../../../../projections/storage';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { bucketDecider } from '../../domain';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { StorageAccess } from '../storage-access';
import type { BucketChanged } from './create-bucket';

/**
 * DELETE /storage/buckets/:bucket[?force=true]: 409 bucket_not_empty while it holds object
 * versions or multipart uploads, unless forced; a forced delete removes their blobs. The name is
 * released for anyone to take.
 */
export class DeleteBucket extends UseCaseCommand<BucketChanged> {
  constructor(
    readonly name: string,
    readonly force: boolean,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteBucket)
export class DeleteBucketHandler extends UseCaseHandler<DeleteBucket, BucketChanged> {
  constructor(
    private readonly access: StorageAccess,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({ name, force, ctx }: DeleteBucket): Promise<Handled<BucketChanged>> {
    const { bucketId } = await this.access.ownedBucket(name, tenantOf(ctx));
    const { blobIds, ...contents } = await this.access.contentsOf(bucketId);
    const result = await this.access.executor.execute(
      bucketDecider,
      bucketId,
      { type: 'DeleteBucket', contents, force, now: ctx.now },
      ctx,
    );
    await this.access.releaseName(name, bucketId, ctx);
    await this.quotas.release(tenantOf(ctx), bucketId, ctx);
    await this.access.releaseBlobs(blobIds);
    return {
      result: { bucketId, name },
      written: [
        written(result.position, BUCKETS_PROJECTION, OBJECTS_PROJECTION, MULTIPART_PROJECTION),
      ],
    };
  }
}
