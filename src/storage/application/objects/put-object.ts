import type { Readable } from 'node:stream';
import { CommandHandler } from '@nestjs/cqrs';

import { OBJECTS_PROJECTION } from '../../../../projections/storage';
import { crashPoint } from '../../../common/crash-point';
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
import {
  blobsReleasedBy,
  objectDecider,
  objectIdOf,
  objectKeyProblems,
  type ObjectAttributes,
  type ObjectVersion,
  type PutObjectVersion,
} from '../../domain';
import { StorageAccess, type OwnedBucket } from '../storage-access';
import { bytesToReserve, StoredBytesQuota } from '../storage-quotas';

export interface ObjectWritten {
  objectId: string;
  bucket: string;
  key: string;
  version: ObjectVersion;
}

/**
 * PUT /storage/:bucket/*key (and a presigned PUT): the body is streamed to the blob store (never
 * held in memory, checksums computed on the way), then the version is recorded. A failed record
 * deletes the new blob; the blob of a replaced `null` version is deleted once the record holds.
 * What the new version adds is reserved in the `stored_bytes` quota before the record (403
 * `quota_exceeded`: the blob is deleted, nothing is appended).
 */
export class PutObject extends UseCaseCommand<ObjectWritten> {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly body: Readable,
    readonly contentType: string,
    ctx: CommandContext,
    /** Set by a presigned PUT, which has already resolved the bucket. */
    readonly resolved?: OwnedBucket,
    /** The S3 endpoint's checksum and headers, read once the body has been stored. */
    readonly attributes?: () => ObjectAttributes | undefined,
  ) {
    super(ctx);
  }
}

@CommandHandler(PutObject)
export class PutObjectHandler extends UseCaseHandler<PutObject, ObjectWritten> {
  constructor(
    private readonly access: StorageAccess,
    private readonly storedBytes: StoredBytesQuota,
  ) {
    super();
  }

  protected async handle(command: PutObject): Promise<Handled<ObjectWritten>> {
    const { ctx, key } = command;
    const tenantId = tenantOf(ctx);
    const { bucketId, state: bucket } =
      command.resolved ?? (await this.access.ownedBucket(command.bucket, tenantId));
    throwIfInvalid(objectKeyProblems(key, 'key'));
    const blob = await this.access.blobs.put(command.body, {
      maxBytes: this.access.options.maxObjectBytes,
    });
    await crashPoint('put-object-stored');
    const objectId = objectIdOf(bucketId, key);
    const attributes = command.attributes?.();
    const write: PutObjectVersion = {
      type: 'PutObjectVersion',
      bucketId,
      tenantId,
      key,
      versioning: bucket.versioning,
      newVersionId: uuidV5(`object-version/${ctx.commandId}`).replace(/-/g, ''),
      blob: {
        blobId: blob.blobId,
        sizeBytes: blob.sizeBytes,
        sha256: blob.sha256,
        etag: blob.md5,
      },
      contentType: command.contentType,
      ...(attributes ? { attributes } : {}),
      now: ctx.now,
    };
    let reserved = 0;
    let result;
    try {
      result = await this.access.objectLocks.run(objectId, async () => {
        const { state } = await this.access.executor.load(objectDecider, objectId);
        const bytes = bytesToReserve(write, state);
        await this.storedBytes.reserve(tenantId, bucketId, bytes, ctx, objectId);
        reserved = bytes;
        return this.access.executor.execute(objectDecider, objectId, write, ctx, 30);
      });
    } catch (err) {
      await this.storedBytes.cancel(tenantId, bucketId, reserved, ctx, objectId);
      await this.access.releaseBlobs([blob.blobId]);
      throw err;
    }
    await crashPoint('put-object-recorded');
    await this.storedBytes.settle(tenantId, bucketId, reserved, result.events, ctx, objectId);
    if (result.events.length === 0) await this.access.releaseBlobs([blob.blobId]);
    await this.access.releaseBlobs(result.events.flatMap(blobsReleasedBy));
    const version = result.state.versions.at(-1) as ObjectVersion;
    return {
      result: { objectId, bucket: bucket.name, key, version },
      written: [written(result.position, OBJECTS_PROJECTION)],
    };
  }
}
