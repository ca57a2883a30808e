import { CommandHandler } from '@nestjs/cqrs';

import { BUCKETS_PROJECTION } from '../../../../projections/storage';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { bucketDecider } from '../../domain';
import { StorageAccess } from '../storage-access';
import type { BucketChanged } from './create-bucket';

/** PATCH /storage/buckets/:bucket/versioning: enable, or suspend (old versions stay). */
export class SetBucketVersioning extends UseCaseCommand<BucketChanged> {
  constructor(
    readonly name: string,
    readonly enabled: boolean,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(SetBucketVersioning)
export class SetBucketVersioningHandler extends UseCaseHandler<SetBucketVersioning, BucketChanged> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle({
    name,
    enabled,
    ctx,
  }: SetBucketVersioning): Promise<Handled<BucketChanged>> {
    const { bucketId } = await this.access.ownedBucket(name, tenantOf(ctx));
    const result = await this.access.executor.execute(
      bucketDecider,
      bucketId,
      { type: 'SetBucketVersioning', enabled, now: ctx.now },
      ctx,
    );
    return { result: { bucketId, name }, written: [written(result.position, BUCKETS_PROJECTION)] };
  }
}
