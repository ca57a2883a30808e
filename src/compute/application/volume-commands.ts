import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../common/ids';
import {
  COMPUTE_DRIVER,
  LABEL_TENANT,
  type ComputeDriver,
} from '../../drivers/docker/compute-driver';
import { CommandExecutor, type CommandContext } from '../../eventstore/command-executor';
import type { Position } from '../../eventstore/event-store';
import {
  initialVolumeState,
  instanceDecider,
  quotaDecider,
  volumeDecider,
  volumeVisibleTo,
  type VolumeState,
} from '../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from './compute-options';
import { ComputeLocks } from './instance-commands';
import { derivedContext } from './system-context';

export interface VolumeOutcome {
  volumeId: string;
  position: Position | null;
}

function tenantOf(ctx: CommandContext): string {
  if (!ctx.tenantId) throw new AppError('forbidden', 'this route needs a tenant');
  return ctx.tenantId;
}

/**
 * Volumes, backed by Docker volumes `nimbus-vol-<id>`. Docker cannot change the mounts of a
 * container, so attaching to (or detaching from) an instance that has a container takes effect
 * when its container is created again; attach at launch (`volumes` of POST /instances) mounts it
 * at once.
 */
@Injectable()
export class VolumeCommands {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly locks: ComputeLocks,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
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
    const { state: instance } = await this.executor.load(instanceDecider, instanceId);
    if (instance.status === 'NONE' || instance.tenantId !== tenantId) {
      throw AppError.notFound('instance', instanceId);
    }
    if (instance.status === 'TERMINATING' || instance.status === 'TERMINATED') {
      throw AppError.invalidState(`instance is ${instance.status}; attach needs a live instance`, {
        status: instance.status,
      });
    }
    const result = await this.executor.execute(
      volumeDecider,
      volumeId,
      { type: 'AttachVolume', instanceId, mountPath, now: ctx.now },
      ctx,
    );
    return { volumeId, position: result.position };
  }

  async detach(volumeId: string, ctx: CommandContext): Promise<VolumeOutcome> {
    const tenantId = tenantOf(ctx);
    await this.loadOwned(volumeId, tenantId);
    const result = await this.executor.execute(
      volumeDecider,
      volumeId,
      { type: 'DetachVolume', now: ctx.now },
      ctx,
    );
    return { volumeId, position: result.position };
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
