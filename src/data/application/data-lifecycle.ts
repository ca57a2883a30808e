import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';

import type { AppConfig } from '../../config/config';
import type { DetectedDrivers } from '../../drivers/detection';
import { DETECTED_DRIVERS } from '../../drivers/tokens';
import { APP_CONFIG } from '../../platform/tokens';
import { DataReconciler } from './data-reconciler';

/** How long start-up waits for the first reconcile before the application listens anyway. */
const START_UP_RECONCILE_WAIT_MS = 20_000;

/**
 * Runs the data drift reconcile once at start-up and then every
 * NIMBUS_DATA_RECONCILE_INTERVAL_MS. Only with the real Docker driver: with the simulated one no
 * engine ever runs, so there is nothing to compare.
 */
@Injectable()
export class DataLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('data');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly reconciler: DataReconciler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DETECTED_DRIVERS) private readonly drivers: DetectedDrivers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.drivers.docker.active !== 'docker') return;
    const first = this.runOnce();
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([
      first,
      new Promise((resolve) => {
        wait = setTimeout(resolve, START_UP_RECONCILE_WAIT_MS);
      }),
    ]);
    clearTimeout(wait);
    this.timer = setInterval(() => {
      if (this.running === null && !this.stopped) void this.runOnce();
    }, this.config.dataReconcileIntervalMs);
    this.timer.unref();
  }

  /** One reconcile of every database and cache (the timer's; tests call it directly). */
  runOnce(): Promise<unknown> {
    const run = this.reconciler
      .reconcileAll()
      .catch((error: unknown) => this.logger.warn(`data reconcile failed: ${String(error)}`))
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
