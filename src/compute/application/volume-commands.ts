import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../common/ids';
import {
  COMPUTE_DRIVER,
  LABEL_TENANT,
  type ComputeDriver,
} from '../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import {
  initialVolumeState,
  instanceDecider,
  normalizeMountPath,
  quotaDecider,
  volumeDecider,
  volumeVisibleTo,
  type InstanceState,
  type InstanceStatus,
  type VolumeMount,
  type VolumeState,
} from '../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from './compute-options';
import { ComputeLocks, InstanceOperations } from './instances/instance-operations';
import { derivedContext } from './system-context';

export interface VolumeOutcome {
  volumeId: string;
  position: Position | null;
}

/** Attach/detach re-create the container: the instance must be RUNNING or STOPPED (409). */
function requireRemountable(instance: InstanceState, action: 'attach' | 'detach'): void {
  const status = instance.status;
  if (status !== 'NONE' && REMOUNT_STATUSES.includes(status) && instance.containerId !== null) {
    return;
  }
  throw AppError.invalidState(`instance is ${status}; volume ${action} needs RUNNING or STOPPED`, {
    status,
    action,
    allowed: [...REMOUNT_STATUSES],
  });
}

function tenantOf(ctx: CommandContext): string {
  if (!ctx.tenantId) throw new AppError('forbidden', 'this route needs a tenant');
  return ctx.tenantId;
}

/** Instance states in which attach/detach re-create the container with the new mount set. */
const REMOUNT_STATUSES: readonly InstanceStatus[] = ['RUNNING', 'STOPPED'];
/** States in which a detach only records the fact (the container is gone or broken). */
const RECORD_ONLY_DETACH_STATUSES: readonly InstanceStatus[] = ['ERROR', 'TERMINATED'];

/**
 * Volumes, backed by Docker volumes `nimbus-vol-<id>`. Docker cannot add or remove a mount of an
 * existing container, so attach/detach on an instance re-create its container with the new mount
 * set, keeping its root filesystem through a committed snapshot image (see
 * `ComputeDriver.recreateContainer`), under the instance's lock; the instance then records
 * `InstanceVolumesChanged` (its whole mount set). Attach at launch (`volumes` of POST /instances)
 * mounts at creation.
 */
@Injectable()
export class VolumeCommands {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly locks: ComputeLocks,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
    private readonly instances: InstanceOperations,
  ) {}

  async loadOwned(volumeId: string, tenantId: string): Promise<VolumeState> {
    if (!isUuid(volumeId)) throw AppError.notFound('volume', volumeId);
    const { state } = await this.executor.load(volumeDecider, volumeId);
    if (!volumeVisibleTo(state, tenantId)) throw AppError.notFound('volume', volumeId);
    return state;
  }

  async create(name: string, sizeGb: number, ctx: CommandContext): Promise<VolumeOutcome> {
    const tenantId = tenantOf(ctx);
    const volumeId = uuidV5(`volume/${ctx.commandId}`);
    const command = {
      type: 'CreateVolume' as const,
      volumeId,
      tenantId,
      name,
      sizeGb,
      now: ctx.now,
    };
    volumeDecider.decide(command, initialVolumeState());
    await this.locks.quota.run(tenantId, () =>
      this.executor.execute(
        quotaDecider,
        tenantId,
        {
          type: 'ReserveVolumeCapacity',
          tenantId,
          volumeId,
          limits: this.options.quotaLimits,
          now: ctx.now,
        },
        derivedContext(ctx, 'reserve_volume'),
        30,
      ),
    );
    try {
      await this.driver.createVolume(volumeId, {
        [LABEL_TENANT]: tenantId,
        ...this.options.containerLabels,
      });
      const result = await this.executor.execute(volumeDecider, volumeId, command, ctx);
      return { volumeId, position: result.position };
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict')
        return { volumeId, position: null };
      await this.releaseQuota(tenantId, volumeId, ctx).catch(() => undefined);
      throw error;
    }
  }

  private releaseQuota(tenantId: string, volumeId: string, ctx: CommandContext) {
    return this.locks.quota.run(tenantId, () =>
      this.executor.execute(
        quotaDecider,
        tenantId,
        { type: 'ReleaseVolumeCapacity', tenantId, volumeId, now: new Date() },
        derivedContext(ctx, 'release_volume'),
        30,
      ),
    );
  }

  async attach(
    volumeId: string,
    instanceId: string,
    mountPath: string,
    ctx: CommandContext,
  ): Promise<VolumeOutcome> {
    const tenantId = tenantOf(ctx);
    await this.loadOwned(volumeId, tenantId);
    if (!isUuid(instanceId)) throw AppError.notFound('instance', instanceId);
    return this.locks.instance.run(instanceId, async () => {
      const { state: instance } = await this.executor.load(instanceDecider, instanceId);
      if (instance.status === 'NONE' || instance.tenantId !== tenantId) {
        throw AppError.notFound('instance', instanceId);
      }
      requireRemountable(instance, 'attach');
      const attach = { type: 'AttachVolume' as const, instanceId, mountPath, now: ctx.now };
      const path = normalizeMountPath(mountPath);
      const result = await this.executor.execute(volumeDecider, volumeId, attach, ctx);
      if (instance.volumes.some((v) => v.volumeId === volumeId && v.mountPath === path)) {
        return { volumeId, position: result.position };
      }
      const mounts: VolumeMount[] = [
        ...instance.volumes.filter((v) => v.volumeId !== volumeId),
        { volumeId, mountPath: path },
      ];
      try {
        await this.instances.changeVolumes(instance, mounts, ctx);
      } catch (error) {
        // Undo the attachment only when the instance is back on its previous mounts (otherwise
        // the reconciler finishes the change, and the volume is mounted after all).
        const { state: after } = await this.executor.load(instanceDecider, instanceId);
        if (after.volumeChange !== null) throw error;
        await this.executor
          .execute(
            volumeDecider,
            volumeId,
            { type: 'DetachVolume', instanceId, now: new Date() },
            derivedContext(ctx, 'attach_undo'),
          )
          .catch(() => undefined);
        throw error;
      }
      return { volumeId, position: result.position };
    });
  }

  async detach(volumeId: string, ctx: CommandContext): Promise<VolumeOutcome> {
    const tenantId = tenantOf(ctx);
    const volume = await this.loadOwned(volumeId, tenantId);
    const attachment = volume.attachment;
    if (attachment === null) return { volumeId, position: null };
    const instanceId = attachment.instanceId;
    return this.locks.instance.run(instanceId, async () => {
      const { state: instance } = await this.executor.load(instanceDecider, instanceId);
      const mounted = instance.volumes.some((v) => v.volumeId === volumeId);
      const recordOnly =
        !mounted ||
        instance.status === 'NONE' ||
        RECORD_ONLY_DETACH_STATUSES.includes(instance.status);
      if (!recordOnly) {
        requireRemountable(instance, 'detach');
        await this.instances.changeVolumes(
          instance,
          instance.volumes.filter((v) => v.volumeId !== volumeId),
          ctx,
        );
      }
      const result = await this.executor.execute(
        volumeDecider,
        volumeId,
        { type: 'DetachVolume', instanceId, now: ctx.now },
        ctx,
      );
      return { volumeId, position: result.position };
    });
  }

  async delete(volumeId: string, ctx: CommandContext): Promise<VolumeOutcome> {
    const tenantId = tenantOf(ctx);
    await this.loadOwned(volumeId, tenantId);
    const result = await this.executor.execute(
      volumeDecider,
      volumeId,
      { type: 'DeleteVolume', now: ctx.now },
      ctx,
    );
    await this.driver.removeVolume(volumeId);
    await this.releaseQuota(tenantId, volumeId, ctx);
    return { volumeId, position: result.position };
  }
}
