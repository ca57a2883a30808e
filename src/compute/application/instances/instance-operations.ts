import { Inject, Injectable, Logger } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
import {
  COMPUTE_DRIVER,
  DriverError,
  snapshotReferenceOf,
  type ComputeDriver,
  type ContainerSpec,
} from '../../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import type { Position } from '../../../kernel/position';
import {
  dockerResourceLimits,
  instanceDecider,
  INSTANCE_HOLDER,
  instanceQuotaAmounts,
  volumeDecider,
  type InstanceCommand,
  type InstanceState,
  type VolumeMount,
} from '../../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from '../compute-options';
import { KeyedMutex } from '../../../common/keyed-mutex';
import { QuotaService, type QuotaWrite } from '../../../platform/quotas/quota.service';
import { tenantOf } from '../../../platform/commands/use-case';
import { derivedContext } from '../../../platform/commands/system-context';
import { Clock } from '../../../platform/clock';
import { INSTANCE_NETWORK, type InstanceNetwork } from '../../../network/ports/instance-network';

/** Per-process locks shared by handlers, the saga's ports and the reconciler. */
@Injectable()
export class ComputeLocks {
  /** Per instance: a driver call and the events that record it. */
  readonly instance = new KeyedMutex();
}

/** What an instance use case answers: the instance it changed (read back from INSTANCES_PROJECTION). */
export interface InstanceChanged {
  instanceId: string;
}

const HOST_CPUS = availableParallelism();

export function hostCpus(): number {
  return HOST_CPUS;
}

/** A driver failure as the API reports it: the container is gone (409) or the engine failed (503). */
export async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof DriverError)) throw error;
    if (error.kind === 'engine') {
      throw new AppError('service_unavailable', `the container engine failed: ${error.message}`);
    }
    throw AppError.invalidState(`the container cannot do this now: ${error.message}`, {
      engine: error.kind,
    });
  }
}

/**
 * What the instance use cases (`./*.ts`, one file each), the launch saga's ports and the drift
 * reconciler share: loading a tenant's instance, recording driver outcomes, finishing a stop,
 * start, termination or volume change that was recorded as requested. Long operations record the
 * request, perform the driver call and record the outcome (a crash in between leaves a
 * transitional state the reconciler finishes); callers hold the instance's lock so the reconciler
 * never reports half of an operation as drift.
 */
@Injectable()
export class InstanceOperations {
  private readonly logger = new Logger('compute');

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly locks: ComputeLocks,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
    private readonly quotas: QuotaService,
    private readonly clock: Clock,
    @Inject(INSTANCE_NETWORK) private readonly network: InstanceNetwork,
  ) {}

  /** Reserves (or re-sizes) the instance's quota: 403 quota_exceeded appends nothing. */
  async reserveQuota(
    tenantId: string,
    instanceId: string,
    size: { vcpus: number; memoryMb: number },
    ctx: CommandContext,
  ): Promise<void> {
    await this.quotas.reserve(
      tenantId,
      { id: instanceId, kind: INSTANCE_HOLDER },
      instanceQuotaAmounts(size),
      ctx,
    );
  }

  /** Releases the instance's quota (`changed` false when it held none). */
  releaseQuota(tenantId: string, instanceId: string, ctx: CommandContext): Promise<QuotaWrite> {
    return this.quotas.release(tenantId, instanceId, ctx);
  }

  /**
   * Plugs the instance's NIC into its container's namespace again: a container that starts
   * anew (start, reboot, re-creation) gets a new namespace, and its old veth went with the old
   * one. A no-op for an instance without a NIC or a container without a process.
   */
  async replugNic(instanceId: string): Promise<void> {
    const { state } = await this.executor.load(instanceDecider, instanceId);
    if (state.subnetId === null || state.privateIp === null) return;
    const pid = (await this.driver.inspect(instanceId))?.pid;
    if (pid !== undefined) await this.network.plug(instanceId, { kind: 'pid', pid });
  }

  /** Loads the instance of the caller's tenant; another tenant's (or no) instance is 404. */
  async loadOwned(instanceId: string, tenantId: string): Promise<InstanceState> {
    if (!isUuid(instanceId)) throw AppError.notFound('instance', instanceId);
    const { state } = await this.executor.load(instanceDecider, instanceId);
    if (state.status === 'NONE' || state.tenantId !== tenantId) {
      throw AppError.notFound('instance', instanceId);
    }
    return state;
  }

  record(instanceId: string, command: InstanceCommand, ctx: CommandContext, purpose: string) {
    return this.executor.execute(
      instanceDecider,
      instanceId,
      command,
      derivedContext(ctx, purpose),
      10,
    );
  }

  /** STOPPING -> the container stopped -> STOPPED (or ERROR). Call with the instance lock held. */
  finishStop(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    return this.finishOperation(instanceId, ctx, 'stop', async () => {
      const { exitCode } = await this.driver.stop(instanceId);
      return { type: 'RecordInstanceStopped', exitCode, now: this.clock.now() };
    });
  }

  /** STARTING (not a launch) -> the container started -> RUNNING (or ERROR). Lock held. */
  finishStart(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    return this.finishOperation(instanceId, ctx, 'start', async () => {
      await this.driver.start(instanceId);
      await this.replugNic(instanceId);
      return { type: 'RecordInstanceStarted', now: this.clock.now() };
    });
  }

  /**
   * Runs the driver call of a requested stop or start and records what came of it: the outcome
   * command it returns, or the operation's failure (the instance goes to ERROR with the reason).
   */
  private async finishOperation(
    instanceId: string,
    ctx: CommandContext,
    operation: 'stop' | 'start',
    run: () => Promise<InstanceCommand>,
  ): Promise<Position | null> {
    const step = operation === 'stop' ? 'stopped' : 'started';
    try {
      const outcome = await run();
      return (await this.record(instanceId, outcome, ctx, step)).position;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const failed = await this.record(
        instanceId,
        { type: 'RecordOperationFailed', operation, reason, now: this.clock.now() },
        ctx,
        `${operation}_failed`,
      );
      return failed.position;
    }
  }

  /**
   * An instant operation (pause, resume, reboot): checked with `decide`, the driver called, then
   * recorded, all under the instance's lock. Returns the position of what was recorded.
   */
  instant(
    instanceId: string,
    command: InstanceCommand,
    call: (driver: ComputeDriver) => Promise<void>,
    ctx: CommandContext,
  ): Promise<Position | null> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      const state = await this.loadOwned(instanceId, tenantId);
      instanceDecider.decide(command, state);
      await engineCall(() => call(this.driver));
      return (await this.executor.execute(instanceDecider, instanceId, command, ctx)).position;
    });
  }

  private containerSpec(state: InstanceState, volumes: readonly VolumeMount[]): ContainerSpec {
    const type = state.instanceType;
    if (!type || !state.instanceId || !state.tenantId) {
      throw AppError.invalidState('instance is incomplete');
    }
    const limits = dockerResourceLimits(type, { hostCpus: HOST_CPUS });
    return {
      instanceId: state.instanceId,
      tenantId: state.tenantId,
      image: state.image?.dockerImageId ?? '',
      limits: { NanoCpus: limits.NanoCpus, Memory: limits.Memory, MemorySwap: limits.MemorySwap },
      volumes,
      userData: state.userData,
      labels: this.options.containerLabels,
    };
  }

  /**
   * Changes the mount set of a RUNNING or STOPPED instance: records the request
   * (InstanceVolumesChangeRequested, with a snapshot name derived from the command id, so a
   * retried request resumes the same change), re-creates the container, records the outcome.
   * Hold the instance's lock. On failure it tries to bring back the previous mount set; what it
   * cannot, the reconciler finishes (forward) later.
   */
  async changeVolumes(
    state: InstanceState,
    volumes: VolumeMount[],
    ctx: CommandContext,
  ): Promise<Position | null> {
    const instanceId = state.instanceId as string;
    const snapshot = snapshotReferenceOf(
      instanceId,
      uuidV5(`volumes_change/${ctx.commandId}`).replace(/-/g, '').slice(0, 16),
    );
    await this.record(
      instanceId,
      { type: 'RequestVolumesChange', volumes, snapshot, now: this.clock.now() },
      ctx,
      'volumes_change',
    );
    try {
      return await this.finishVolumesChange(instanceId, ctx);
    } catch (error) {
      try {
        const { containerId } = await this.driver.recreateContainer(
          this.containerSpec(state, state.volumes),
          snapshot,
          state.status === 'RUNNING',
        );
        await this.record(
          instanceId,
          {
            type: 'RecordVolumesChanged',
            volumes: [...state.volumes],
            containerId,
            now: this.clock.now(),
          },
          ctx,
          'volumes_change_undone',
        );
      } catch (undo) {
        this.logger.warn(
          `instance ${instanceId}: restoring the mounts failed (${String(undo)}); the reconciler retries the change`,
        );
      }
      throw error;
    }
  }

  /** A recorded volume change -> container re-created -> InstanceVolumesChanged. Lock held. */
  async finishVolumesChange(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    const { state } = await this.executor.load(instanceDecider, instanceId);
    const pending = state.volumeChange;
    if (!pending || (state.status !== 'RUNNING' && state.status !== 'STOPPED')) return null;
    const { containerId } = await engineCall(() =>
      this.driver.recreateContainer(
        this.containerSpec(state, pending.volumes),
        pending.snapshot,
        pending.running,
      ),
    );
    if (pending.running) await this.replugNic(instanceId);
    const done = await this.record(
      instanceId,
      {
        type: 'RecordVolumesChanged',
        volumes: [...pending.volumes],
        containerId,
        now: this.clock.now(),
      },
      ctx,
      `volumes_changed/${pending.snapshot}`,
    );
    // Volumes no longer mounted are detached (a no-op when the detach handler did it already).
    const kept = new Set(pending.volumes.map((v) => v.volumeId));
    for (const v of state.volumes.filter((m) => !kept.has(m.volumeId))) {
      await this.executor.execute(
        volumeDecider,
        v.volumeId,
        { type: 'DetachVolume', instanceId, now: this.clock.now() },
        derivedContext(ctx, `volumes_changed/detach/${v.volumeId}`),
      );
    }
    this.logger.log(`instance ${instanceId}: volumes now ${[...kept].join(', ') || 'none'}`);
    return done.position;
  }

  /** TERMINATING -> container removed, volumes detached, quota released -> TERMINATED. Lock held. */
  async finishTermination(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    const { state } = await this.executor.load(instanceDecider, instanceId);
    if (state.status !== 'TERMINATING' || !state.tenantId) return null;
    await engineCall(() => this.driver.remove(instanceId));
    // Its NIC: elastic IP disassociated, veth, port, memberships and address gone.
    await this.network.detach(instanceId, state.tenantId, derivedContext(ctx, 'detach_nic'));
    // With a volume change left unfinished, its volumes may be attached too.
    const mounted = [...state.volumes, ...(state.volumeChange?.volumes ?? [])];
    for (const v of mounted) {
      await this.executor
        .execute(
          volumeDecider,
          v.volumeId,
          { type: 'DetachVolume', instanceId, now: this.clock.now() },
          derivedContext(ctx, `detach/${v.volumeId}`),
        )
        .catch((error: unknown) => {
          if (!(error instanceof AppError && error.code === 'not_found')) throw error;
        });
    }
    await this.releaseQuota(state.tenantId, instanceId, ctx);
    const done = await this.record(
      instanceId,
      { type: 'RecordInstanceTerminated', now: this.clock.now() },
      ctx,
      'terminated',
    );
    this.logger.log(`instance ${instanceId} terminated`);
    return done.position;
  }
}
