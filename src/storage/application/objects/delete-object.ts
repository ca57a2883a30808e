import { CommandHandler } from '@nestjs/cqrs';

import { OBJECTS_PROJECTION } from '../../../../projections/storage';
import { AppError } from '../../../common/errors/app-error';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { blobsReleasedBy, objectDecider, objectIdOf } from '../../domain';
import { StoredBytesQuota } from '../storage-quotas';
import { StorageAccess } from '../storage-access';

export interface ObjectDeleted {
  key: string;
  /** The delete marker's version id, or the version removed. */
  versionId: string;
  deleteMarker: boolean;
}

/**
 * DELETE /storage/:bucket/*key[?version_id=]: the latest version (a delete marker when the bucket
 * is versioned, else the object is removed), or the named version permanently.
 */
export class DeleteObject extends UseCaseCommand<ObjectDeleted> {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly versionId: string | undefined,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteObject)
export class DeleteObjectHandler extends UseCaseHandler<DeleteObject, ObjectDeleted> {
  constructor(
    private readonly access: StorageAccess,
    private readonly storedBytes: StoredBytesQuota,
  ) {
    super();
  }

  protected async handle({
    bucket,
    key,
    versionId,
    ctx,
  }: DeleteObject): Promise<Handled<ObjectDeleted>> {
    const { bucketId, state } = await this.access.ownedBucket(bucket, tenantOf(ctx));
    const objectId = objectIdOf(bucketId, key);
    const result = await this.access.objectLocks.run(objectId, async () => {
      const loaded = await this.access.executor.load(objectDecider, objectId);
      if (loaded.state.ref === null) {
        throw new AppError('not_found', `object ${key} not found`, { resource: 'object', key });
      }
      return this.access.executor.execute(
        objectDecider,
        objectId,
        {
          type: 'DeleteObjectVersion',
          versioning: state.versioning,
          ...(versionId !== undefined ? { versionId } : {}),
          newVersionId: uuidV5(`object-version/${ctx.commandId}`).replace(/-/g, ''),
          now: ctx.now,
        },
        ctx,
        30,
      );
    });
    await this.storedBytes.settle(tenantOf(ctx), bucketId, 0, result.events, ctx, objectId);
    await this.access.releaseBlobs(result.events.flatMap(blobsReleasedBy));
    const event = result.events[0];
    const affected =
      event.type === 'ObjectDeleteMarkerCreated' || event.type === 'ObjectVersionCreated'
        ? event.data.version
        : event.data.removed;
    return {
      result: {
        key,
        versionId: affected.versionId,
        deleteMarker: event.type === 'ObjectDeleteMarkerCreated',
      },
      written: [written(result.position, OBJECTS_PROJECTION)],
    };
  }
}
