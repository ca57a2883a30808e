import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
import { BASE_IMAGES } from '../../../drivers/docker/base-images';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { Position } from '../../../kernel/position';
import {
  imageDecider,
  imageVisibleTo,
  reservedImageNameError,
  systemImageId,
  type ImageState,
} from '../../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from '../compute-options';
import { checkImportTarget, download, ImportTargetRefused } from '../image-download';
import { systemContext } from '../../../platform/commands/system-context';
import { Clock } from '../../../platform/clock';

export interface ImageMetadataRequest {
  name: string;
  description?: string | null;
  os?: string | null;
  version?: string | null;
  is_public?: boolean;
}

/** What an image use case answers: the image it changed (read back from IMAGES_PROJECTION). */
export interface ImageChanged {
  imageId: string;
}

/** The engine reference of a tenant image. */
export function imageReferenceOf(imageId: string): string {
  return `nimbus/img-${imageId}:latest`;
}

/**
 * What the image use cases (`./*.ts`, one file each) and start-up share. Images: metadata in the image aggregate, bits in the container engine (`docker import` of a
 * root filesystem tarball, uploaded or downloaded). Public base images are registered at start-up
 * with deterministic ids.
 */
@Injectable()
export class ImageImports {
  private readonly logger = new Logger('compute');
  private readonly imports = new Map<string, Promise<void>>();

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
    private readonly clock: Clock,
  ) {}

  /** 409 when `name` is a system image's: system names are reserved (launch by name boots it). */
  async assertNameNotReserved(name: string): Promise<void> {
    const { state } = await this.executor.load(imageDecider, systemImageId(name));
    if (state.system && state.status !== 'NONE' && state.status !== 'DELETED') {
      throw reservedImageNameError(name);
    }
  }

  async loadVisible(imageId: string, tenantId: string): Promise<ImageState> {
    if (!isUuid(imageId)) throw AppError.notFound('image', imageId);
    const { state } = await this.executor.load(imageDecider, imageId);
    if (!imageVisibleTo(state, tenantId)) throw AppError.notFound('image', imageId);
    return state;
  }

  /** Runs (or resumes after a restart) the download and import of an image in the background. */
  startUrlImport(imageId: string, tenantId: string, url: string, correlationId: string): void {
    if (this.imports.has(imageId)) return;
    const job = this.runImport(
      imageId,
      tenantId,
      async () => download(await checkImportTarget(url, this.options.allowPrivateImageImport)),
      correlationId,
    )
      .then(() => undefined)
      .catch((error: unknown) => {
        this.logger.warn(`image import ${imageId} could not be recorded: ${String(error)}`);
      })
      .finally(() => this.imports.delete(imageId));
    this.imports.set(imageId, job);
  }

  /** Resolves when background imports started by this process have finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.imports.size > 0) await Promise.allSettled([...this.imports.values()]);
  }

  async runImport(
    imageId: string,
    tenantId: string,
    source: () => Promise<Readable>,
    correlationId: string,
  ): Promise<Position | null> {
    const ctx = () =>
      systemContext('image-importer', { tenantId, correlationId, now: this.clock.now() });
    const reference = imageReferenceOf(imageId);
    try {
      const imported = await this.driver.importImage(await source(), reference);
      try {
        const done = await this.executor.execute(
          imageDecider,
          imageId,
          { type: 'RecordImageImported', ...imported, now: this.clock.now() },
          ctx(),
        );
        return done.position;
      } catch (error) {
        // Deleted while importing: remove what was imported.
        if (error instanceof AppError && error.code === 'not_found') {
          await this.driver.removeImage(reference).catch(() => undefined);
          return null;
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      const reason =
        error instanceof ImportTargetRefused || error instanceof Error
          ? error.message
          : String(error);
      const failed = await this.executor.execute(
        imageDecider,
        imageId,
        { type: 'RecordImageImportFailed', reason, now: this.clock.now() },
        ctx(),
      );
      return failed.position;
    }
  }

  /**
   * Registers the public base images the engine has (built by the drivers module at start-up),
   * under deterministic ids; a rebuilt image records its new Docker image id.
   */
  async registerSystemImages(): Promise<void> {
    for (const base of BASE_IMAGES) {
      const info = await this.driver.imageInfo(base.reference);
      if (!info) {
        this.logger.warn(`base image ${base.reference} is missing; it cannot be launched`);
        continue;
      }
      await this.executor.execute(
        imageDecider,
        systemImageId(base.name),
        {
          type: 'RegisterSystemImage',
          imageId: systemImageId(base.name),
          name: base.name,
          description: base.description,
          os: base.os,
          version: 'latest',
          dockerImageId: info.dockerImageId,
          sizeBytes: info.sizeBytes,
          now: this.clock.now(),
        },
        systemContext('compute-startup', { now: this.clock.now() }),
      );
    }
  }
}
