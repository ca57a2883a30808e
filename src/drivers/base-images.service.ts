import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type Dockerode from 'dockerode';

import type { DetectedDrivers } from './detection';
import { ensureBaseImages, inspectBaseImages, type BaseImagesStatus } from './docker/base-images';
import type { DriversModuleOptions } from './drivers.options';
import type { Exec } from './exec';
import { DETECTED_DRIVERS, DOCKER_CLIENT, DRIVERS_OPTIONS, EXEC } from './tokens';

let builtInThisProcess = false;

/**
 * Builds the public base images at start-up when Docker is real (before the application reports
 * ready), and remembers the outcome for /health/ready and the image catalog. A failure is logged
 * and reported, not fatal: the API still serves everything that needs no base image.
 */
@Injectable()
export class BaseImagesService implements OnModuleInit {
  private readonly logger = new Logger('drivers');
  private current: BaseImagesStatus | undefined;

  constructor(
    @Inject(DETECTED_DRIVERS) private readonly drivers: DetectedDrivers,
    @Inject(DOCKER_CLIENT) private readonly docker: Dockerode,
    @Inject(DRIVERS_OPTIONS) private readonly options: DriversModuleOptions,
    @Inject(EXEC) private readonly exec: Exec,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.drivers.docker.active !== 'docker' || this.options.ensureBaseImages === false) return;
    await this.ensure();
  }

  /** Builds what is missing (idempotent) and returns the engine's base images. */
  async ensure(): Promise<BaseImagesStatus> {
    // Once the script has run in this process (tests start many apps), asking the engine whether
    // the images are still there is enough; the script runs again only when one has gone.
    let status: BaseImagesStatus | undefined;
    if (builtInThisProcess) {
      status = await inspectBaseImages(this.docker);
      if (!status.ready) status = undefined;
    }
    status ??= await ensureBaseImages(this.docker, { exec: this.exec });
    if (status.ready) builtInThisProcess = true;
    this.current = status;
    if (status.ready) this.logger.log(status.detail);
    else this.logger.error(status.detail);
    return status;
  }

  /** The outcome of the last ensure(), or undefined when none ran (simulated Docker). */
  status(): BaseImagesStatus | undefined {
    return this.current;
  }
}
