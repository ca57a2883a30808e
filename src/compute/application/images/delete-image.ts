import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { IMAGES_PROJECTION } from '../../../../projections/compute';
import { AppError } from '../../../common/errors/app-error';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../../drivers/docker/compute-driver';
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
import { ComputeQueries } from '../compute-queries';
import { imageReferenceOf, ImageImports, type ImageChanged } from './image-imports';

/** DELETE /images/:id: ImageDeleted (409 while instances use it), then the engine's image. */
export class DeleteImage extends UseCaseCommand<ImageChanged> {
  constructor(
    readonly imageId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteImage)
export class DeleteImageHandler extends UseCaseHandler<DeleteImage, ImageChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly queries: ComputeQueries,
    private readonly images: ImageImports,
  ) {
    super();
  }

  protected async handle({ imageId, ctx }: DeleteImage): Promise<Handled<ImageChanged>> {
    const tenantId = tenantOf(ctx);
    const state = await this.images.loadVisible(imageId, tenantId);
    if (!state.system && state.tenantId !== tenantId) throw AppError.notFound('image', imageId);
    const using = await this.queries.instancesUsingImage(imageId);
    const result = await this.executor.execute(
      imageDecider,
      imageId,
      { type: 'DeleteImage', instancesUsingImage: using, now: ctx.now },
      ctx,
    );
    if (state.dockerImageId)
      await this.driver.removeImage(imageReferenceOf(imageId)).catch(() => undefined);
    return { result: { imageId }, written: [written(result.position, IMAGES_PROJECTION)] };
  }
}
