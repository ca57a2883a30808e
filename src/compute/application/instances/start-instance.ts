import { CommandHandler } from '@nestjs/cqrs';
import { INSTANCES_PROJECTION } from '../../../../projections/compute';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  tenantOf,
  type Handled,
} from '../../../platform/commands/use-case';
import { instanceDecider } from '../../domain';
import { ComputeLocks, InstanceOperations, type InstanceChanged } from './instance-operations';

/** POST /instances/:id/start: STARTING, the container started, RUNNING (or ERROR). */
export class StartInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(StartInstance)
export class StartInstanceHandler extends UseCaseHandler<StartInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly instances: InstanceOperations,
  ) {
    super();
  }

  protected handle({ instanceId, ctx }: StartInstance): Promise<Handled<InstanceChanged>> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.instances.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'StartInstance', now: ctx.now },
        ctx,
      );
      const position =
        requested.state.status === 'STARTING' && requested.events.length > 0
          ? await this.instances.finishStart(instanceId, ctx)
          : requested.position;
      return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
    });
  }
}
