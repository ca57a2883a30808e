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

/** POST /instances/:id/stop: STOPPING, the container stopped, STOPPED (or ERROR). */
export class StopInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(StopInstance)
export class StopInstanceHandler extends UseCaseHandler<StopInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly instances: InstanceOperations,
  ) {
    super();
  }

  protected handle({ instanceId, ctx }: StopInstance): Promise<Handled<InstanceChanged>> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.instances.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'StopInstance', now: ctx.now },
        ctx,
      );
      const position =
        requested.state.status === 'STOPPING'
          ? await this.instances.finishStop(instanceId, ctx)
          : requested.position;
      return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
    });
  }
}
