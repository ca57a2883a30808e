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

/** POST /instances/:id/reboot: the container restarted, the instance stays RUNNING. */
export class RebootInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RebootInstance)
export class RebootInstanceHandler extends UseCaseHandler<RebootInstance, InstanceChanged> {
  constructor(private readonly instances: InstanceOperations) {
    super();
  }

  protected async handle({ instanceId, ctx }: RebootInstance): Promise<Handled<InstanceChanged>> {
    const position = await this.instances.instant(
      instanceId,
      { type: 'RebootInstance', now: ctx.now },
      async (driver) => {
        await driver.restart(instanceId);
        await this.instances.replugNic(instanceId);
      },
      ctx,
    );
    return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
  }
}
