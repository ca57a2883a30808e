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

/** POST /instances/:id/resume: a paused instance runs again (RUNNING). */
export class ResumeInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ResumeInstance)
export class ResumeInstanceHandler extends UseCaseHandler<ResumeInstance, InstanceChanged> {
  constructor(private readonly instances: InstanceOperations) {
    super();
  }

  protected async handle({ instanceId, ctx }: ResumeInstance): Promise<Handled<InstanceChanged>> {
    const position = await this.instances.instant(
      instanceId,
      { type: 'ResumeInstance', now: ctx.now },
      (driver) => driver.unpause(instanceId),
      ctx,
    );
    return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
  }
}
