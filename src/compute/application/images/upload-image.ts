import type { Readable } from 'node:stream';
import { CommandHandler } from '@nestjs/cqrs';
import { IMAGES_PROJECTION } from '../../../../projections/compute';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { imageDecider, imageOwnedBy } from '../../domain';
import { ImageImports, type ImageChanged } from './image-imports';

/** POST /images/:id/upload: the tarball is streamed into `docker import` within the request. */
export class UploadImage extends UseCaseCommand<ImageChanged> {
  constructor(
    readonly imageId: string,
    readonly tarball: Readable,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(UploadImage)
export class UploadImageHandler extends UseCaseHandler<UploadImage, ImageChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly images: ImageImports,
  ) {
    super();
  }

  protected async handle({ imageId, tarball, ctx }: UploadImage): Promise<Handled<ImageChanged>> {
    const tenantId = tenantOf(ctx);
    const state = await this.images.loadVisible(imageId, tenantId);
    if (!imageOwnedBy(state, tenantId)) {
      throw new AppError('forbidden', 'only the owner of an image can upload its file');
    }
    await this.executor.execute(
      imageDecider,
      imageId,
      { type: 'StartImageImport', source: 'upload', url: null, now: ctx.now },
      ctx,
    );
    const position = await this.images.runImport(
      imageId,
      tenantId,
      () => Promise.resolve(tarball),
      ctx.correlationId,
    );
    return { result: { imageId }, written: [written(position, IMAGES_PROJECTION)] };
  }
}
