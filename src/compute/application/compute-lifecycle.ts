import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  ReadinessCheckProvider,
  type ReadinessCheck,
  type ReadinessResult,
} from '../../health/readiness';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../drivers/docker/compute-driver';
import { COMPUTE_OPTIONS, type ComputeOptions } from './compute-options';
import { ComputeQueries } from './compute-queries';
import { DriftReconciler } from './drift-reconciler';
import { ImageImports } from './images/image-imports';
import { InstanceOperations } from './instances/instance-operations';
import { LogCollector } from './log-collector';

const START_UP_RECONCILE_WAIT_MS = 20_000;

/**
 * Start-up and background work of the compute context: registers
 * the public base images, runs the first drift reconcile (readiness waits for it), then follows
 * the engine's events and runs the reconciler and the console log collector periodically.
 */
@Injectable()
@ReadinessCheckProvider()
export class ComputeLifecycle
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, ReadinessCheck
{
  readonly name = 'compute';
  private readonly logger = new Logger('compute');
  private readonly stop = new AbortController();
  private firstReconcile: 'pending' | 'done' | 'failed' = 'pending';
  private firstReconcileDetail = 'the start-up reconcile has not run yet';
  private timers: NodeJS.Timeout[] = [];
  private background: Array<Promise<unknown>> = [];

  constructor(
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
    private readonly images: ImageImports,
    private readonly reconciler: DriftReconciler,
    private readonly collector: LogCollector,
    private readonly queries: ComputeQueries,
    private readonly instances: InstanceOperations,
  ) {}

  onModuleInit(): void {
    this.logger.log(`compute driver: ${this.driver.kind}`);
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.images.registerSystemImages();
    } catch (error) {
      this.logger.error(`registering the base images failed: ${String(error)}`);
    }
    // Follow the engine first, so nothing that happens during the first reconcile is missed.
    this.background.push(this.followEvents());
    const startUp = this.startUp();
    this.background.push(startUp);
    // Usually the application is ready when it starts listening; a slow engine or a large fleet
    // lets start-up go on after a bound, with readiness DEGRADED until the reconcile is done.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      startUp,
      new Promise((resolve) => {
        timer = setTimeout(resolve, START_UP_RECONCILE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private async startUp(): Promise<void> {
    try {
      const changed = await this.reconciler.reconcileAll();
      const replugged = await this.replugRunningNics();
      await this.resumeImports();
      this.firstReconcile = 'done';
      this.firstReconcileDetail = `start-up reconcile done (${changed} instance(s) changed, ${replugged} running NIC(s) re-plugged); driver ${this.driver.kind}`;
    } catch (error) {
      this.firstReconcile = 'failed';
      this.firstReconcileDetail = `start-up reconcile failed: ${String(error)}`;
      this.logger.error(this.firstReconcileDetail);
    }
    if (this.stop.signal.aborted) return;
    this.every(this.options.reconcileIntervalMs, async () => {
      await this.reconciler.reconcileAll();
      await this.reconciler.releaseOrphanReservations();
      if (this.firstReconcile === 'failed') {
        this.firstReconcile = 'done';
        this.firstReconcileDetail = `reconcile done; driver ${this.driver.kind}`;
      }
    });
    this.every(this.options.logCollectIntervalMs, () => this.collector.collectAll());
  }

  /**
   * Plugs the NIC of every running instance into its container again (idempotent: a NIC still
   * plugged is left as it was). A host restart or a lost host bridge leaves running containers
   * without their veth; the network's own start-up reconcile ensures the logical side.
   */
  private async replugRunningNics(): Promise<number> {
    let plugged = 0;
    for (const instance of await this.queries.liveInstances()) {
      if (instance.status !== 'RUNNING') continue;
      try {
        await this.instances.replugNic(instance.id);
        plugged++;
      } catch (error) {
        this.logger.warn(`plugging the NIC of instance ${instance.id} failed: ${String(error)}`);
      }
    }
    return plugged;
  }

  private async resumeImports(): Promise<void> {
    for (const image of await this.queries.importingImages()) {
      if (
        image.importing?.source === 'url' &&
        image.importing.url &&
        image.tenantId &&
        image.imageId
      ) {
        this.images.startUrlImport(
          image.imageId,
          image.tenantId,
          image.importing.url,
          image.imageId,
        );
      }
    }
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.stop.signal.aborted) return;
      running = true;
      task()
        .catch((error: unknown) =>
          this.logger.warn(`compute background task failed: ${String(error)}`),
        )
        .finally(() => (running = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async followEvents(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.driver.events((event) => {
          if (
            ['die', 'stop', 'kill', 'pause', 'unpause', 'start', 'destroy', 'oom'].includes(
              event.action,
            )
          ) {
            this.reconciler.schedule(event.instanceId);
          }
        }, this.stop.signal);
      } catch (error) {
        this.logger.warn(`following the engine's events failed: ${String(error)}`);
      }
      if (this.stop.signal.aborted) return;
      // The stream ended (engine restart): reconcile everything, then follow again.
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      await this.reconciler.reconcileAll().catch(() => undefined);
    }
  }

  check(): Promise<ReadinessResult> {
    return Promise.resolve({
      status: this.firstReconcile === 'done' ? 'RECONCILED' : this.firstReconcile.toUpperCase(),
      ok: this.firstReconcile === 'done',
      detail: this.firstReconcileDetail,
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.stop.abort();
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled(this.background);
    await this.reconciler.idle();
    await this.images.idle();
  }
}
