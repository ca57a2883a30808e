import { CommandHandler } from '@nestjs/cqrs';

import { MULTIPART_PROJECTION, OBJECTS_PROJECTION } from '../../../../projections/storage';
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
  type CompletedPartRef,
  type ObjectVersion,
} from '../../domain';
import type { ObjectWritten } from '../objects/put-object';
import { derivedContext } from '../../../platform/commands/system-context';
import { StorageAccess } from '../storage-access';

/**
 * POST /storage/multipart/complete/:id `{parts: [{part_number, etag?}]}`: the list is checked
 * first (order, parts, ETags, sizes), then the parts are concatenated into one new blob
 * (streamed), recorded as a version of the key, and the upload as completed; the part blobs are
 * deleted afterwards.
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
  constructor(private readonly access: StorageAccess) {
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
    const assembled = await this.access.blobs.concat(parts.map((p) => p.blob.blobId));
    const objectId = objectIdOf(bucketId, upload.key);
    const versionId = uuidV5(`object-version/${ctx.commandId}`).replace(/-/g, '');
    let put;
    try {
      put = await this.access.objectLocks.run(objectId, () =>
        this.access.executor.execute(
          objectDecider,
          objectId,
          {
            type: 'PutObjectVersion',
            bucketId,
            tenantId,
            key: upload.key,
            versioning: bucket.versioning,
            newVersionId: versionId,
            blob: {
              blobId: assembled.blobId,
              sizeBytes: assembled.sizeBytes,
              sha256: assembled.sha256,
              etag: multipartEtag(parts.map((p) => p.blob.etag)),
            },
            contentType: upload.contentType,
            now: ctx.now,
          },
          derivedContext(ctx, 'object'),
          30,
        ),
      );
    } catch (err) {
      await this.access.releaseBlobs([assembled.blobId]);
      throw err;
    }
    const version = put.state.versions.at(-1) as ObjectVersion;
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
}
