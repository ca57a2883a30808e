import type { Readable } from 'node:stream';
import { CommandHandler } from '@nestjs/cqrs';

import { MULTIPART_PROJECTION } from '../../../../projections/storage';
import { AppError } from '../../../common/errors/app-error';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import {
  MAX_PART_NUMBER,
  MIN_PART_NUMBER,
  multipartDecider,
  type UploadedPart,
} from '../../domain';
import { StorageAccess } from '../storage-access';

/** PUT /storage/multipart/upload/:id/parts?part_number=: the body streamed like an object's. */
export class UploadPart extends UseCaseCommand<UploadedPart> {
  constructor(
    readonly uploadId: string,
    readonly partNumber: number,
    readonly body: Readable,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(UploadPart)
export class UploadPartHandler extends UseCaseHandler<UploadPart, UploadedPart> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle(command: UploadPart): Promise<Handled<UploadedPart>> {
    const { ctx, uploadId, partNumber } = command;
    const upload = await this.access.ownedUpload(uploadId, tenantOf(ctx));
    if (upload.status !== 'IN_PROGRESS') throw AppError.notFound('multipart_upload', uploadId);
    if (
      !Number.isInteger(partNumber) ||
      partNumber < MIN_PART_NUMBER ||
      partNumber > MAX_PART_NUMBER
    ) {
      throw AppError.validation('part_number is out of range', [
        {
          path: 'part_number',
          message: `must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`,
        },
      ]);
    }
    const blob = await this.access.blobs.put(command.body, {
      maxBytes: this.access.options.maxObjectBytes,
    });
    let result;
    try {
      result = await this.access.executor.execute(
        multipartDecider,
        uploadId,
        {
          type: 'UploadPart',
          partNumber,
          blob: {
            blobId: blob.blobId,
            sizeBytes: blob.sizeBytes,
            sha256: blob.sha256,
            etag: blob.md5,
          },
          now: ctx.now,
        },
        ctx,
        30,
      );
    } catch (err) {
      await this.access.releaseBlobs([blob.blobId]);
      throw err;
    }
    const released = result.events.flatMap((e) =>
      e.type === 'MultipartPartUploaded' && e.data.replaced ? [e.data.replaced.blobId] : [],
    );
    await this.access.releaseBlobs(released);
    return {
      result: result.state.parts[partNumber],
      written: [written(result.position, MULTIPART_PROJECTION)],
    };
  }
}
