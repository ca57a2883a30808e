import { CommandHandler } from '@nestjs/cqrs';
import { VOLUMES_PROJECTION } from '../../../../projections/compute';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { instanceDecider, normalizeMountPath, volumeDecider, type VolumeMount } from '../../domain';
import { ComputeLocks, InstanceOperations } from '../instances/instance-operations';
import { derivedContext } from '../../../platform/commands/system-context';
import { requireRemountable, VolumeAccess, type VolumeChanged } from './volume-access';
import { Clock } from '../../../platform/clock';

/**
 * POST /volumes/:id/attach: records the attachment, then re-creates the instance's container
 * with the volume mounted (RUNNING or STOPPED only).
 */
export class AttachVolume extends UseCaseCommand<VolumeChanged> {
  constructor(
    readonly volumeId: string,
    readonly instanceId: string,
    readonly mountPath: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AttachVolume)
export class AttachVolumeHandler extends UseCaseHandler<AttachVolume, VolumeChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly volumes: VolumeAccess,
    private readonly instances: InstanceOperations,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({
    volumeId,
    instanceId,
    mountPath,
    ctx,
  }: AttachVolume): Promise<Handled<VolumeChanged>> {
    const tenantId = tenantOf(ctx);
    await this.volumes.loadOwned(volumeId, tenantId);
    if (!isUuid(instanceId)) throw AppError.notFound('instance', instanceId);
    const position = await this.locks.instance.run(instanceId, async () => {
      const { state: instance } = await this.executor.load(instanceDecider, instanceId);
      if (instance.status === 'NONE' || instance.tenantId !== tenantId) {
        throw AppError.notFound('instance', instanceId);
      }
      requireRemountable(instance, 'attach');
      const attach = { type: 'AttachVolume' as const, instanceId, mountPath, now: ctx.now };
      const path = normalizeMountPath(mountPath);
      const result = await this.executor.execute(volumeDecider, volumeId, attach, ctx);
      if (instance.volumes.some((v) => v.volumeId === volumeId && v.mountPath === path)) {
        return result.position;
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
            { type: 'DetachVolume', instanceId, now: this.clock.now() },
            derivedContext(ctx, 'attach_undo'),
          )
          .catch(() => undefined);
        throw error;
      }
      return result.position;
    });
    return { result: { volumeId }, written: [written(position, VOLUMES_PROJECTION)] };
  }
}
