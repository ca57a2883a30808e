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

/** DELETE /instances/:id: TERMINATING, container removed, volumes detached, quota released. */
export class TerminateInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(TerminateInstance)
export class TerminateInstanceHandler extends UseCaseHandler<TerminateInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly instances: InstanceOperations,
  ) {
    super();
  }

  protected handle({ instanceId, ctx }: TerminateInstance): Promise<Handled<InstanceChanged>> {
    const tenantId = tenantOf(ctx);
    return this.locks.instance.run(instanceId, async () => {
      await this.instances.loadOwned(instanceId, tenantId);
      const requested = await this.executor.execute(
        instanceDecider,
        instanceId,
        { type: 'TerminateInstance', now: ctx.now },
        ctx,
      );
      const position =
        requested.state.status === 'TERMINATED'
          ? requested.position
          : await this.instances.finishTermination(instanceId, ctx);
      return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
    });
  }
}
