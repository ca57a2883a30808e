import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { availableParallelism } from 'node:os';
import {
  INSTANCE_LAUNCH_SAGA,
  type InstanceLaunchInput,
} from '../../../sagas/instance-launch/instance-launch.saga';
import { SagaLauncher } from '../../../sagas/runtime/sagas.module';
import { AppError } from '../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../common/ids';
import {
  COMPUTE_DRIVER,
  DriverError,
  snapshotReferenceOf,
  type ComputeDriver,
  type ContainerSpec,
} from '../../drivers/docker/compute-driver';
import { CommandExecutor, type CommandContext } from '../../eventstore/command-executor';
import type { Position } from '../../eventstore/event-store';
import {
  dockerResourceLimits,
  imageDecider,
  initialInstanceState,
  instanceDecider,
  launchImageFrom,
  parsePorts,
  quotaDecider,
  resolveInstanceType,
  volumeDecider,
  volumeVisibleTo,
  type InstanceCommand,
  type InstanceState,
  type LaunchInstance,
  type Tags,
  type VolumeMount,
} from '../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from './compute-options';
import { ComputeQueries } from './compute-queries';
import { KeyedMutex } from './keyed-mutex';
import { derivedContext } from './system-context';

/** Per-process locks shared by handlers, the saga's ports and the reconciler. */
@Injectable()
export class ComputeLocks {
  /** Per tenant: the quota stream. */
  readonly quota = new KeyedMutex();
  /** Per instance: a driver call and the events that record it. */
  readonly instance = new KeyedMutex();
}

export interface LaunchRequest {
  name: string;
  image: string;
  instance_type: string;
  vpc_id?: string | null;
  subnet_id?: string | null;
  ports?: string | null;
  volumes?: Array<{ volume_id: string; mount_path: string }>;
  user_data?: string | null;
  tags?: Tags;
}

export interface CommandOutcome {
  instanceId: string;
  /** Position of the last event appended; null when nothing changed. */
  position: Position | null;
}

const QUOTA_ATTEMPTS = 30;
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

function tenantOf(ctx: CommandContext): string {
  if (!ctx.tenantId) throw new AppError('forbidden', 'this route needs a tenant');
  return ctx.tenantId;
}

/**
 * The instance's command handlers. Long operations (stop, start, terminate) record the request,
 * perform the driver call and record the outcome within the request (a crash in between leaves
 * a transitional state the reconciler finishes); instant ones (pause, resume, reboot, resize)
 * check with `decide`, call the driver, then record. Both hold the instance's lock so the drift
 * reconciler never reports half of an operation as drift.
 */
@Injectable()
export class InstanceCommands {
  private readonly logger = new Logger('compute');
  private sagaLauncher: SagaLauncher | undefined;

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly moduleRef: ModuleRef,
    private readonly queries: ComputeQueries,
    private readonly locks: ComputeLocks,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
  ) {}

  /** The application's SagasModule is not global: find its launcher wherever it is. */
  private launcher(): SagaLauncher {
    const launcher =
      this.sagaLauncher ??
      this.moduleRef.get<SagaLauncher>(SagaLauncher, { strict: false, each: false });
    this.sagaLauncher = launcher;
    return launcher;
  }

  /** The tenant's limits (defaults for now; per-tenant overrides come with the admin API). */
  quotaLimits(_tenantId: string): Promise<ComputeOptions['quotaLimits']> {
    return Promise.resolve(this.options.quotaLimits);
  }

  async launch(request: LaunchRequest, ctx: CommandContext): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    const instanceType = resolveInstanceType(request.instance_type);
    const ports = parsePorts(request.ports ?? null);
    const image = await this.resolveImage(request.image, tenantId);
    // No VPC or subnet can exist before the networking context lands, so every id names a
    // resource the caller cannot see: 404, as for another tenant's, rather than storing it.
    if (request.vpc_id) throw AppError.notFound('vpc', request.vpc_id);
    if (request.subnet_id) throw AppError.notFound('subnet', request.subnet_id);
    const volumes: VolumeMount[] = [];
    for (const [index, v] of (request.volumes ?? []).entries()) {
      if (!isUuid(v.volume_id)) throw AppError.notFound('volume', v.volume_id);
      const { state } = await this.executor.load(volumeDecider, v.volume_id);
      if (!volumeVisibleTo(state, tenantId)) throw AppError.notFound('volume', v.volume_id);
      if (state.attachment) {
        throw AppError.invalidState(
          `volume ${v.volume_id} is IN_USE (attached to instance ${state.attachment.instanceId}); attach needs AVAILABLE`,
          { path: `volumes[${index}].volume_id`, status: state.status },
        );
      }
      volumes.push({ volumeId: v.volume_id, mountPath: v.mount_path });
    }
    const taken = await this.queries.hostPortsInUse(ports.map((p) => p.host));
    if (taken.length > 0) {
      throw new AppError('conflict', `host port ${taken[0].port} is already in use`, {
        field: 'ports',
        port: taken[0].port,
      });
    }
    // The instance id derives from the command id: a request retried with its Idempotency-Key
    // launches the same instance again, which is a no-op.
    const instanceId = uuidV5(`instance/${ctx.commandId}`);
    const command: LaunchInstance = {
      type: 'LaunchInstance',
      instanceId,
      tenantId,
      name: request.name,
      image,
      instanceType,
      vpcId: request.vpc_id ?? null,
      subnetId: request.subnet_id ?? null,
      ports,
      volumes,
      userData: request.user_data ?? null,
      tags: request.tags ?? {},
      now: ctx.now,
    };
    // Every 400 before any quota is spent.
    instanceDecider.decide(command, initialInstanceState());

    const limits = await this.quotaLimits(tenantId);
    await this.locks.quota.run(tenantId, () =>
      this.executor.execute(
        quotaDecider,
        tenantId,
        {
          type: 'ReserveInstanceCapacity',
          tenantId,
          instanceId,
          vcpus: instanceType.vcpus,
          memoryMb: instanceType.memoryMb,
          limits,
          now: ctx.now,
        },
        derivedContext(ctx, 'reserve_quota'),
        QUOTA_ATTEMPTS,
      ),
    );
    let position: Position | null = null;
    try {
      const result = await this.executor.execute(instanceDecider, instanceId, command, ctx);
      position = result.position;
    } catch (error) {
      // A retried request (same Idempotency-Key) finds its instance launched already.
      const retried = error instanceof AppError && error.code === 'conflict';
      if (!retried) {
        await this.releaseQuota(tenantId, instanceId, ctx).catch(() => undefined);
        throw error;
      }
    }
    const input: InstanceLaunchInput = { instanceId, tenantId };
    await this.launcher().start(INSTANCE_LAUNCH_SAGA, instanceId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { instanceId, position };
  }

  private async resolveImage(image: string, tenantId: string) {
    if (typeof image !== 'string' || image.trim() === '') {
      throw AppError.validation('image is required', [{ path: 'image', message: 'is required' }]);
    }
    const id = isUuid(image) ? image : await this.queries.imageIdByName(tenantId, image);
    if (!id) {
      throw AppError.validation(`unknown image "${image}"`, [
        { path: 'image', message: 'unknown image' },
      ]);
    }
    const { state } = await this.executor.load(imageDecider, id);
    return launchImageFrom(state, tenantId);
  }

  private async releaseQuota(tenantId: string, instanceId: string, ctx: CommandContext) {
    await this.locks.quota.run(tenantId, () =>
      this.executor.execute(
        quotaDecider,
        tenantId,
        { type: 'ReleaseInstanceCapacity', tenantId, instanceId, now: new Date() },
        derivedContext(ctx, `release_quota/${instanceId}`),
        QUOTA_ATTEMPTS,
      ),
    );
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

  private record(
    instanceId: string,
    command: InstanceCommand,
    ctx: CommandContext,
    purpose: string,
  ) {
    return this.executor.execute(
      instanceDecider,
      instanceId,
      command,
      derivedContext(ctx, purpose),
      10,
    );
  }

  async stop(instanceId: string, ctx: CommandContext): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'StopInstance', now: ctx.now },
        ctx,
      );
      if (requested.state.status !== 'STOPPING')
        return { instanceId, position: requested.position };
      return { instanceId, position: await this.finishStop(instanceId, ctx) };
    });
  }

  /** STOPPING -> the container stopped -> STOPPED (or ERROR). Call with the instance lock held. */
  finishStop(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    return this.finishOperation(instanceId, ctx, 'stop', async () => {
      const { exitCode } = await this.driver.stop(instanceId);
      return { type: 'RecordInstanceStopped', exitCode, now: new Date() };
    });
  }

  async start(instanceId: string, ctx: CommandContext): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'StartInstance', now: ctx.now },
        ctx,
      );
      if (requested.state.status !== 'STARTING' || requested.events.length === 0) {
        return { instanceId, position: requested.position };
      }
      return { instanceId, position: await this.finishStart(instanceId, ctx) };
    });
  }

  /** STARTING (not a launch) -> the container started -> RUNNING (or ERROR). Lock held. */
  finishStart(instanceId: string, ctx: CommandContext): Promise<Position | null> {
    return this.finishOperation(instanceId, ctx, 'start', async () => {
      await this.driver.start(instanceId);
      return { type: 'RecordInstanceStarted', now: new Date() };
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
        { type: 'RecordOperationFailed', operation, reason, now: new Date() },
        ctx,
        `${operation}_failed`,
      );
      return failed.position;
    }
  }

  /** Pause, resume, reboot: validate, call the driver, record. */
  async instant(
    instanceId: string,
    action: 'pause' | 'resume' | 'reboot',
    ctx: CommandContext,
  ): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    const command: InstanceCommand =
      action === 'pause'
        ? { type: 'PauseInstance', now: ctx.now }
        : action === 'resume'
          ? { type: 'ResumeInstance', now: ctx.now }
          : { type: 'RebootInstance', now: ctx.now };
    return this.locks.instance.run(instanceId, async () => {
      const state = await this.loadOwned(instanceId, tenantId);
      instanceDecider.decide(command, state);
      await engineCall(() =>
        action === 'pause'
          ? this.driver.pause(instanceId)
          : action === 'resume'
            ? this.driver.unpause(instanceId)
            : this.driver.restart(instanceId),
      );
      const result = await this.executor.execute(instanceDecider, instanceId, command, ctx);
      return { instanceId, position: result.position };
    });
  }

  async resize(instanceId: string, typeId: string, ctx: CommandContext): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      const state = await this.loadOwned(instanceId, tenantId);
      const type = resolveInstanceType(typeId);
      const command: InstanceCommand = { type: 'ResizeInstance', instanceType: type, now: ctx.now };
      if (instanceDecider.decide(command, state).length === 0)
        return { instanceId, position: null };
      const old = state.instanceType;
      const limits = await this.quotaLimits(tenantId);
      const reserve = (vcpus: number, memoryMb: number, purpose: string) =>
        this.locks.quota.run(tenantId, () =>
          this.executor.execute(
            quotaDecider,
            tenantId,
            {
              type: 'ReserveInstanceCapacity',
              tenantId,
              instanceId,
              vcpus,
              memoryMb,
              limits,
              now: new Date(),
            },
            derivedContext(ctx, purpose),
            QUOTA_ATTEMPTS,
          ),
        );
      await reserve(type.vcpus, type.memoryMb, 'resize_quota');
      try {
        const next = dockerResourceLimits(type, { hostCpus: HOST_CPUS });
        await engineCall(() =>
          this.driver.update(instanceId, {
            NanoCpus: next.NanoCpus,
            Memory: next.Memory,
            MemorySwap: next.MemorySwap,
          }),
        );
      } catch (error) {
        if (old) await reserve(old.vcpus, old.memoryMb, 'resize_quota_undo').catch(() => undefined);
        throw error;
      }
      const result = await this.executor.execute(instanceDecider, instanceId, command, ctx);
      return { instanceId, position: result.position };
    });
  }

  async update(
    instanceId: string,
    changes: { name?: string; tags?: Tags },
    ctx: CommandContext,
  ): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    await this.loadOwned(instanceId, tenantId);
    const result = await this.executor.execute(
      instanceDecider,
      instanceId,
      { type: 'UpdateInstance', ...changes, now: ctx.now },
      ctx,
    );
    return { instanceId, position: result.position };
  }

  async terminate(instanceId: string, ctx: CommandContext): Promise<CommandOutcome> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'TerminateInstance', now: ctx.now },
        ctx,
      );
      if (requested.state.status === 'TERMINATED')
        return { instanceId, position: requested.position };
      return { instanceId, position: await this.finishTermination(instanceId, ctx) };
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
      { type: 'RequestVolumesChange', volumes, snapshot, now: new Date() },
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
            now: new Date(),
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
    const done = await this.record(
      instanceId,
      { type: 'RecordVolumesChanged', volumes: [...pending.volumes], containerId, now: new Date() },
      ctx,
      `volumes_changed/${pending.snapshot}`,
    );
    // Volumes no longer mounted are detached (a no-op when the detach handler did it already).
    const kept = new Set(pending.volumes.map((v) => v.volumeId));
    for (const v of state.volumes.filter((m) => !kept.has(m.volumeId))) {
      await this.executor.execute(
        volumeDecider,
        v.volumeId,
        { type: 'DetachVolume', instanceId, now: new Date() },
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
    await this.driver.remove(instanceId);
    // With a volume change left unfinished, its volumes may be attached too.
    const mounted = [...state.volumes, ...(state.volumeChange?.volumes ?? [])];
    for (const v of mounted) {
      await this.executor
        .execute(
          volumeDecider,
          v.volumeId,
          { type: 'DetachVolume', instanceId, now: new Date() },
          derivedContext(ctx, `detach/${v.volumeId}`),
        )
        .catch((error: unknown) => {
          if (!(error instanceof AppError && error.code === 'not_found')) throw error;
        });
    }
    await this.releaseQuota(state.tenantId, instanceId, ctx);
    const done = await this.record(
      instanceId,
      { type: 'RecordInstanceTerminated', now: new Date() },
      ctx,
      'terminated',
    );
    this.logger.log(`instance ${instanceId} terminated`);
    return done.position;
  }
}
