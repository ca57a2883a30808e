import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { VOLUMES_PROJECTION } from '../../../../projections/compute';
import { AppError } from '../../../common/errors/app-error';
import { uuidV5 } from '../../../common/ids';
import {
  COMPUTE_DRIVER,
  LABEL_TENANT,
  type ComputeDriver,
} from '../../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import {
  initialVolumeState,
  volumeDecider,
  VOLUME_HOLDER,
  VOLUME_QUOTA_AMOUNTS,
} from '../../domain';
import { COMPUTE_OPTIONS, type ComputeOptions } from '../compute-options';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { VolumeAccess, type VolumeChanged } from './volume-access';

/** POST /volumes: quota first, then the Docker volume, then VolumeCreated. */
export class CreateVolume extends UseCaseCommand<VolumeChanged> {
  constructor(
    readonly name: string,
    readonly sizeGb: number,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateVolume)
export class CreateVolumeHandler extends UseCaseHandler<CreateVolume, VolumeChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly quotas: QuotaService,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
    private readonly volumes: VolumeAccess,
  ) {
    super();
  }

  protected async handle({ name, sizeGb, ctx }: CreateVolume): Promise<Handled<VolumeChanged>> {
    const tenantId = tenantOf(ctx);
    const volumeId = uuidV5(`volume/${ctx.commandId}`);
    const done = (position: Parameters<typeof written>[0]): Handled<VolumeChanged> => ({
      result: { volumeId },
      written: [written(position, VOLUMES_PROJECTION)],
    });
    const command = {
      type: 'CreateVolume' as const,
      volumeId,
      tenantId,
      name,
      sizeGb,
      now: ctx.now,
    };
    volumeDecider.decide(command, initialVolumeState());
    await this.quotas.reserve(
      tenantId,
      { id: volumeId, kind: VOLUME_HOLDER },
      VOLUME_QUOTA_AMOUNTS,
      ctx,
    );
    try {
      await this.driver.createVolume(volumeId, {
        [LABEL_TENANT]: tenantId,
        ...this.options.containerLabels,
      });
      const result = await this.executor.execute(volumeDecider, volumeId, command, ctx);
      return done(result.position);
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict') return done(null);
      await this.volumes.releaseQuota(tenantId, volumeId, ctx).catch(() => undefined);
      throw error;
    }
  }
}
