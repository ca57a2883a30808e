import { CommandHandler } from '@nestjs/cqrs';

import { MULTIPART_PROJECTION } from '../../../../projections/storage';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { multipartDecider } from '../../domain';
import { StorageAccess } from '../storage-access';

/** DELETE /storage/multipart/abort/:id: the upload ends and its parts' blobs are deleted. */
export class AbortMultipartUpload extends UseCaseCommand<{ uploadId: string }> {
  constructor(
    readonly uploadId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AbortMultipartUpload)
export class AbortMultipartUploadHandler extends UseCaseHandler<
  AbortMultipartUpload,
  { uploadId: string }
> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle({
    uploadId,
    ctx,
  }: AbortMultipartUpload): Promise<Handled<{ uploadId: string }>> {
    await this.access.ownedUpload(uploadId, tenantOf(ctx));
    const result = await this.access.executor.execute(
      multipartDecider,
      uploadId,
      { type: 'AbortMultipartUpload', now: ctx.now },
      ctx,
    );
    await this.access.releaseBlobs(
      result.events.flatMap((e) => (e.type === 'MultipartUploadAborted' ? e.data.partBlobs : [])),
    );
    return { result: { uploadId }, written: [written(result.position, MULTIPART_PROJECTION)] };
  }
}
