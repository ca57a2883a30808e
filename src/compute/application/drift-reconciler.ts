import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import {
  COMPUTE_DRIVER,
  type ComputeDriver,
  type ContainerInfo,
} from '../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { Position } from '../../kernel/position';
import { driftCommand, instanceDecider, type ContainerObservation } from '../domain';
import { ComputeQueries } from './compute-queries';
import { ComputeLocks, InstanceOperations } from './instances/instance-operations';
import { systemContext } from '../../platform/commands/system-context';
import { Clock } from '../../platform/clock';

const ACTOR = 'compute-reconciler';
/** How long a reservation may exist without its instance before it counts as orphaned. */
const ORPHAN_GRACE_MS = 5 * 60_000;

export function observationOf(info: ContainerInfo | null): ContainerObservation {
  if (!info) return { state: 'missing' };
  switch (info.state) {
    case 'running':
    case 'restarting':
      return { state: 'running' };
    case 'paused':
      return { state: 'paused' };
    case 'removing':
      return { state: 'missing' };
    case 'created':
    case 'exited':
    case 'dead':
      return { state: 'exited', exitCode: info.exitCode };
    default:
      return { state: 'missing' };
  }
}

/**
 * Turns the engine's reality into events: a container that exited becomes STOPPED with its exit
 * code, one removed behind our back ERROR; operations a crash left half done (STOPPING, STARTING
 * after a start, TERMINATING) are finished. Runs on every engine event about a Nimbus container,
 * periodically, and once at start-up before the API reports ready.
 *
 * Only instances this deployment's event store knows are touched: containers of other
 * deployments sharing the engine are left alone.
 */
@Injectable()
export class DriftReconciler {
  private readonly logger = new Logger('compute');
  private readonly pending = new Set<string>();
  private draining: Promise<void> | null = null;

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly queries: ComputeQueries,
    private readonly locks: ComputeLocks,
    private readonly instances: InstanceOperations,
    private readonly clock: Clock,
  ) {}

  /** Reconciles every live instance of the read model. */
  async reconcileAll(): Promise<number> {
    const live = await this.queries.liveInstances();
    let changed = 0;
    for (const instance of live) {
      try {
        if (await this.reconcile(instance.id)) changed++;
      } catch (error) {
        this.logger.warn(`reconcile of instance ${instance.id} failed: ${String(error)}`);
      }
    }
    return changed;
  }

  /**
   * Releases instance reservations older than `graceMs` whose instance was never recorded: the
   * process reserved quota and died before appending InstanceLaunchRequested.
   */
  async releaseOrphanReservations(
    graceMs = ORPHAN_GRACE_MS,
    now = this.clock.now(),
  ): Promise<number> {
    const candidates = await this.queries.instanceReservationsBefore(
      new Date(now.getTime() - graceMs),
    );
    let released = 0;
    for (const { tenantId, instanceId } of candidates) {
      const { exists } = await this.executor.load(instanceDecider, instanceId);
      if (exists) continue;
      const release = await this.instances.releaseQuota(
        tenantId,
        instanceId,
        systemContext(ACTOR, { tenantId, now: this.clock.now() }),
      );
      if (release.changed) {
        released++;
        this.logger.log(`released the quota of instance ${instanceId}, which was never launched`);
      }
    }
    return released;
  }

  /** Schedules a reconcile of one instance (engine events); repeated requests coalesce. */
  schedule(instanceId: string): void {
    this.pending.add(instanceId);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  /** Resolves when scheduled reconciles are done (tests). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const [id] = this.pending;
      this.pending.delete(id);
      try {
        await this.reconcile(id);
      } catch (error) {
        this.logger.warn(`reconcile of instance ${id} failed: ${String(error)}`);
      }
    }
  }

  /** Returns the position of what it recorded, or null when the instance matched the engine. */
  reconcile(instanceId: string): Promise<Position | null> {
    return this.locks.instance.run(instanceId, async () => {
      const { state, exists } = await this.executor.load(instanceDecider, instanceId);
      // A managed machine (a cluster's node) is its owner's to reconcile.
      if (!exists || !state.tenantId || state.managedBy) return null;
      const ctx = systemContext(ACTOR, { tenantId: state.tenantId, now: this.clock.now() });
      switch (state.status) {
        case 'TERMINATED': {
          // A container left behind by a crash between its removal and the record.
          if (await this.driver.inspect(instanceId)) await this.driver.remove(instanceId);
          return null;
        }
        case 'TERMINATING':
          return this.instances.finishTermination(instanceId, ctx);
        case 'STOPPING':
          return this.instances.finishStop(instanceId, ctx);
        case 'STARTING':
          if (!state.launching) return this.instances.finishStart(instanceId, ctx);
          break;
        case 'PENDING':
          // The launch saga owns the instance until its first start.
          return null;
        case 'RUNNING':
        case 'STOPPED':
          // A volume change left by a crash: finish it (the container may be mid re-create).
          if (state.volumeChange !== null) {
            try {
              return await this.instances.finishVolumesChange(instanceId, ctx);
            } catch (error) {
              this.logger.warn(
                `finishing the volume change of ${instanceId} failed: ${String(error)}`,
              );
            }
          }
          break;
        case 'PAUSED':
        case 'ERROR':
        case 'NONE':
          break;
      }
      const observation = observationOf(await this.driver.inspect(instanceId));
      try {
        const result = await this.executor.execute(
          instanceDecider,
          instanceId,
          driftCommand(observation, this.clock.now()),
          ctx,
        );
        if (result.events.length > 0) {
          this.logger.log(
            `drift: instance ${instanceId} ${state.status} -> ${result.state.status} (engine: ${observation.state})`,
          );
        }
        return result.position;
      } catch (error) {
        if (error instanceof AppError && error.code === 'not_found') return null;
        throw error;
      }
    });
  }
}
