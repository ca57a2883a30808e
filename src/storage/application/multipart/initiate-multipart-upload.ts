import { CommandHandler } from '@nestjs/cqrs';

import { MULTIPART_PROJECTION } from '../../../../projections/storage';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { multipartDecider, type MultipartState } from '../../domain';
import { StorageAccess } from '../storage-access';

export interface UploadChanged {
  uploadId: string;
  state: MultipartState;
}

/** POST /storage/multipart/init/:bucket/*key. */
export class InitiateMultipartUpload extends UseCaseCommand<UploadChanged> {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly contentType: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(InitiateMultipartUpload)
export class InitiateMultipartUploadHandler extends UseCaseHandler<
  InitiateMultipartUpload,
  UploadChanged
> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle(command: InitiateMultipartUpload): Promise<Handled<UploadChanged>> {
    const { ctx } = command;
    const tenantId = tenantOf(ctx);
    const { bucketId } = await this.access.ownedBucket(command.bucket, tenantId);
    const uploadId = uuidV5(`multipart-upload/${ctx.commandId}`);
    const result = await this.access.executor.execute(
      multipartDecider,
      uploadId,
      {
        type: 'InitiateMultipartUpload',
        uploadId,
        bucketId,
        tenantId,
        key: command.key,
        contentType: command.contentType,
        now: ctx.now,
      },
      ctx,
      { expectNew: true },
    );
    return {
      result: { uploadId, state: result.state },
      written: [written(result.position, MULTIPART_PROJECTION)],
    };
  }
}
