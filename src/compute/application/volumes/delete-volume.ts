import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { VOLUMES_PROJECTION } from '../../../../projections/compute';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { volumeDecider } from '../../domain';
import { VolumeAccess, type VolumeChanged } from './volume-access';

/** DELETE /volumes/:id: VolumeDeleted (409 while attached), the Docker volume, the quota. */
export class DeleteVolume extends UseCaseCommand<VolumeChanged> {
  constructor(
    readonly volumeId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteVolume)
export class DeleteVolumeHandler extends UseCaseHandler<DeleteVolume, VolumeChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly volumes: VolumeAccess,
  ) {
    super();
  }

  protected async handle({ volumeId, ctx }: DeleteVolume): Promise<Handled<VolumeChanged>> {
    const tenantId = tenantOf(ctx);
    await this.volumes.loadOwned(volumeId, tenantId);
    const result = await this.executor.execute(
      volumeDecider,
      volumeId,
      { type: 'DeleteVolume', now: ctx.now },
      ctx,
    );
    await this.driver.removeVolume(volumeId);
    await this.volumes.releaseQuota(tenantId, volumeId, ctx);
    return { result: { volumeId }, written: [written(result.position, VOLUMES_PROJECTION)] };
  }
}
