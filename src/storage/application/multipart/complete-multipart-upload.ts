import { CommandHandler } from '@nestjs/cqrs';

import { MULTIPART_PROJECTION, OBJECTS_PROJECTION } from '../../../../projections/storage';
import { crashPoint } from '../../../common/crash-point';
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
import {
  blobsReleasedBy,
  bucketDecider,
  multipartDecider,
  multipartEtag,
  objectDecider,
  objectIdOf,
  partsToComplete,
  type BlobRef,
  type CompletedPartRef,
  type MultipartState,
  type PendingCompletion,
  type PutObjectVersion,
  type UploadedPart,
} from '../../domain';
import type { ObjectWritten } from '../objects/put-object';
import { derivedContext } from '../../../platform/commands/system-context';
import { StorageAccess } from '../storage-access';
import { bytesToReserve, StoredBytesQuota } from '../storage-quotas';

/**
 * POST /storage/multipart/complete/:id `{parts: [{part_number, etag?}]}`: the list is checked
 * first (order, parts, ETags, sizes), then the parts are concatenated into one new blob
 * (streamed), recorded as a version of the key, and the upload as completed; the part blobs are
 * deleted afterwards. What the object adds is reserved in the `stored_bytes` quota before it is
 * recorded (403 `quota_exceeded`: nothing appended, the upload stays in progress).
 */
export class CompleteMultipartUpload extends UseCaseCommand<ObjectWritten> {
  constructor(
    readonly uploadId: string,
    readonly parts: CompletedPartRef[],
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CompleteMultipartUpload)
export class CompleteMultipartUploadHandler extends UseCaseHandler<
  CompleteMultipartUpload,
  ObjectWritten
> {
  constructor(
    private readonly access: StorageAccess,
    private readonly storedBytes: StoredBytesQuota,
  ) {
    super();
  }

  protected async handle(command: CompleteMultipartUpload): Promise<Handled<ObjectWritten>> {
    const { ctx, uploadId } = command;
    const tenantId = tenantOf(ctx);
    const upload = await this.access.ownedUpload(uploadId, tenantId);
    if (upload.status !== 'IN_PROGRESS') throw AppError.notFound('multipart_upload', uploadId);
    const parts = partsToComplete(upload, command.parts, this.access.options.minPartBytes);
    const bucketId = upload.bucketId as string;
    const bucket = (await this.access.executor.load(bucketDecider, bucketId)).state;
    if (bucket.status !== 'ACTIVE') {
      throw new AppError('not_found', 'the bucket of this upload no longer exists', {
        resource: 'bucket',
      });
    }
    const objectId = objectIdOf(bucketId, upload.key);
    const numbers = parts.map((p) => p.partNumber).join(',');
    const writeOf = (completion: PendingCompletion): PutObjectVersion => ({
      type: 'PutObjectVersion',
      bucketId,
      tenantId,
      key: upload.key,
      versioning: bucket.versioning,
      newVersionId: completion.versionId,
      blob: completion.assembled,
      contentType: upload.contentType,
      now: ctx.now,
    });
    const versionId = uuidV5(`multipart-version/${uploadId}`).replace(/-/g, '');
    let reserved = 0;
    let put;
    let completion: PendingCompletion | null =
      upload.completing?.parts.join(',') === numbers ? upload.completing : null;
    try {
      put = await this.access.objectLocks.run(objectId, async () => {
        // What the object adds is reserved first: refused, nothing is appended.
        const { state } = await this.access.executor.load(objectDecider, objectId);
        const planned: PendingCompletion = completion ?? {
          parts: parts.map((p) => p.partNumber),
          assembled: {
            blobId: uuidV5(`multipart-object/${uploadId}`),
            sizeBytes: parts.reduce((sum, p) => sum + p.blob.sizeBytes, 0),
            sha256: '',
            etag: '',
          },
          versionId,
        };
        const bytes = bytesToReserve(writeOf(planned), state);
        await this.storedBytes.reserve(tenantId, bucketId, bytes, ctx, objectId);
        reserved = bytes;
        // Assembled once: a completion recorded as started (and cut short by a crash) is
        // finished with its blob and version id, so a retry never writes a second version.
        completion ??= await this.startCompletion(upload, parts, command, versionId);
        await crashPoint('complete-started');
        return this.access.executor.execute(
          objectDecider,
          objectId,
          writeOf(completion),
          derivedContext(ctx, 'object'),
          30,
        );
      });
    } catch (err) {
      // An assembled blob stays: the upload references it until a retry completes the upload
      // (or an abort releases it).
      await this.storedBytes.cancel(tenantId, bucketId, reserved, ctx, objectId);
      throw err;
    }
    await crashPoint('complete-version-recorded');
    const assembled = (completion as PendingCompletion).assembled;
    await this.storedBytes.settle(tenantId, bucketId, reserved, put.events, ctx, objectId);
    // Written now, or by the attempt a crash cut short (then this write appended nothing).
    const version = put.state.versions.find((v) => v.blob?.blobId === assembled.blobId);
    if (!version) {
      throw new AppError('conflict', `the object ${upload.key} changed while it was completed`, {
        resource: 'object',
        key: upload.key,
      });
    }
    const completed = await this.access.executor.execute(
      multipartDecider,
      uploadId,
      {
        type: 'CompleteMultipartUpload',
        parts: command.parts,
        minPartBytes: this.access.options.minPartBytes,
        assembled: {
          blobId: assembled.blobId,
          sha256: assembled.sha256,
          versionId: version.versionId,
        },
        now: ctx.now,
      },
      ctx,
    );
    await this.access.releaseBlobs([
      ...put.events.flatMap(blobsReleasedBy),
      ...Object.values(upload.parts).map((p) => p.blob.blobId),
    ]);
    return {
      result: { objectId, bucket: bucket.name, key: upload.key, version },
      written: [
        written(put.position, OBJECTS_PROJECTION),
        written(completed.position, MULTIPART_PROJECTION),
      ],
    };
  }

  /** Concatenates the parts into one blob and records the completion as started. */
  private async startCompletion(
    upload: MultipartState,
    parts: readonly UploadedPart[],
    command: CompleteMultipartUpload,
    versionId: string,
  ): Promise<PendingCompletion> {
    const { ctx, uploadId } = command;
    const stored = await this.access.blobs.concat(parts.map((p) => p.blob.blobId));
    await crashPoint('complete-concatenated');
    const assembled: BlobRef = {
      blobId: stored.blobId,
      sizeBytes: stored.sizeBytes,
      sha256: stored.sha256,
      etag: multipartEtag(parts.map((p) => p.blob.etag)),
    };
    try {
      const started = await this.access.executor.execute(
        multipartDecider,
        uploadId,
        {
          type: 'StartMultipartCompletion',
          parts: command.parts,
          assembled,
          versionId,
          minPartBytes: this.access.options.minPartBytes,
          now: ctx.now,
        },
        derivedContext(ctx, 'start_completion'),
      );
      const completion = started.state.completing;
      // Another completion of the same list started meanwhile: that one is finished.
      if (completion?.assembled.blobId !== stored.blobId) {
        await this.access.releaseBlobs([stored.blobId]);
      }
      if (completion === null) throw AppError.notFound('multipart_upload', upload.uploadId ?? '');
      return completion;
    } catch (err) {
      await this.access.releaseBlobs([stored.blobId]);
      throw err;
    }
  }
}
