import { CommandHandler } from '@nestjs/cqrs';
import { INSTANCES_PROJECTION } from '../../../../projections/compute';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { InstanceOperations, type InstanceChanged } from './instance-operations';

/** POST /instances/:id/pause: a running instance's processes frozen (PAUSED). */
export class PauseInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(PauseInstance)
export class PauseInstanceHandler extends UseCaseHandler<PauseInstance, InstanceChanged> {
  constructor(private readonly instances: InstanceOperations) {
    super();
  }

  protected async handle({ instanceId, ctx }: PauseInstance): Promise<Handled<InstanceChanged>> {
    const position = await this.instances.instant(
      instanceId,
      { type: 'PauseInstance', now: ctx.now },
      (driver) => driver.pause(instanceId),
      ctx,
    );
    return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
  }
}
