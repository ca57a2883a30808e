import { CommandHandler } from '@nestjs/cqrs';
import { VOLUMES_PROJECTION } from '../../../../projections/compute';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { instanceDecider, volumeDecider } from '../../domain';
import { ComputeLocks, InstanceOperations } from '../instances/instance-operations';
import {
  RECORD_ONLY_DETACH_STATUSES,
  requireRemountable,
  VolumeAccess,
  type VolumeChanged,
} from './volume-access';

/**
 * POST /volumes/:id/detach: a RUNNING or STOPPED instance's container is re-created without the
 * mount, then the detachment recorded; a gone or broken container only records it.
 */
export class DetachVolume extends UseCaseCommand<VolumeChanged> {
  constructor(
    readonly volumeId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DetachVolume)
export class DetachVolumeHandler extends UseCaseHandler<DetachVolume, VolumeChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly volumes: VolumeAccess,
    private readonly instances: InstanceOperations,
  ) {
    super();
  }

  protected async handle({ volumeId, ctx }: DetachVolume): Promise<Handled<VolumeChanged>> {
    const tenantId = tenantOf(ctx);
    const volume = await this.volumes.loadOwned(volumeId, tenantId);
    const attachment = volume.attachment;
    if (attachment === null) {
      // Not attached: the decider answers 409 invalid_state (and appends nothing).
      await this.executor.execute(
        volumeDecider,
        volumeId,
        { type: 'DetachVolume', now: ctx.now },
        ctx,
      );
    }
    const position =
      attachment === null
        ? null
        : await this.locks.instance.run(attachment.instanceId, async () => {
            const instanceId = attachment.instanceId;
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
            return result.position;
          });
    return { result: { volumeId }, written: [written(position, VOLUMES_PROJECTION)] };
  }
}
