import { CommandHandler } from '@nestjs/cqrs';
import { IMAGES_PROJECTION } from '../../../../projections/compute';
import { uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { imageDecider } from '../../domain';
import { ImageImports, type ImageChanged, type ImageMetadataRequest } from './image-imports';

/** POST /images: the image's metadata (PENDING until its root filesystem is uploaded). */
export class RegisterImage extends UseCaseCommand<ImageChanged> {
  constructor(
    readonly request: ImageMetadataRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RegisterImage)
export class RegisterImageHandler extends UseCaseHandler<RegisterImage, ImageChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly images: ImageImports,
  ) {
    super();
  }

  protected async handle({ request, ctx }: RegisterImage): Promise<Handled<ImageChanged>> {
    const tenantId = tenantOf(ctx);
    await this.images.assertNameNotReserved(request.name);
    const imageId = uuidV5(`image/${ctx.commandId}`);
    const result = await this.executor.execute(
      imageDecider,
      imageId,
      {
        type: 'RegisterImage',
        imageId,
        tenantId,
        name: request.name,
        description: request.description ?? null,
        os: request.os ?? null,
        version: request.version ?? null,
        isPublic: request.is_public ?? false,
        now: ctx.now,
      },
      ctx,
    );
    return { result: { imageId }, written: [written(result.position, IMAGES_PROJECTION)] };
  }
}
