import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { IMAGES_PROJECTION } from '../../../../projections/compute';
import { AppError } from '../../../common/errors/app-error';
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
import { imageDecider, importUrlProblems, initialImageState, throwIfInvalid } from '../../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from '../compute-options';
import { checkImportTarget } from '../image-download';
import { ImageImports, type ImageChanged, type ImageMetadataRequest } from './image-imports';

/** POST /images/import: registers the image PENDING and downloads it in the background. */
export class ImportImage extends UseCaseCommand<ImageChanged> {
  constructor(
    readonly request: ImageMetadataRequest & { url: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ImportImage)
export class ImportImageHandler extends UseCaseHandler<ImportImage, ImageChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly images: ImageImports,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
  ) {
    super();
  }

  protected async handle({ request, ctx }: ImportImage): Promise<Handled<ImageChanged>> {
    const tenantId = tenantOf(ctx);
    throwIfInvalid(importUrlProblems(request.url, 'url'));
    await this.images.assertNameNotReserved(request.name);
    try {
      await checkImportTarget(request.url, this.options.allowPrivateImageImport);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw AppError.validation(`url is not allowed: ${message}`, [{ path: 'url', message }]);
    }
    const imageId = uuidV5(`image/${ctx.commandId}`);
    const command = {
      type: 'RegisterImage' as const,
      imageId,
      tenantId,
      name: request.name,
      description: request.description ?? null,
      os: request.os ?? null,
      version: request.version ?? null,
      isPublic: request.is_public ?? false,
      importUrl: request.url,
      now: ctx.now,
    };
    imageDecider.decide(command, initialImageState());
    const result = await this.executor
      .execute(imageDecider, imageId, command, ctx)
      .catch((e: unknown) => {
        if (e instanceof AppError && e.code === 'conflict') return { position: null };
        throw e;
      });
    this.images.startUrlImport(imageId, tenantId, request.url, ctx.correlationId);
    return { result: { imageId }, written: [written(result.position, IMAGES_PROJECTION)] };
  }
}
