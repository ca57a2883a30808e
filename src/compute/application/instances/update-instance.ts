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
import { instanceDecider, type Tags } from '../../domain';
import { InstanceOperations, type InstanceChanged } from './instance-operations';

/** PATCH /instances/:id: rename, retag (If-Match honoured). */
export class UpdateInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    readonly changes: { name?: string; tags?: Tags },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(UpdateInstance)
export class UpdateInstanceHandler extends UseCaseHandler<UpdateInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly instances: InstanceOperations,
  ) {
    super();
  }

  protected async handle({
    instanceId,
    changes,
    ctx,
  }: UpdateInstance): Promise<Handled<InstanceChanged>> {
    await this.instances.loadOwned(instanceId, tenantOf(ctx));
    const result = await this.executor.execute(
      instanceDecider,
      instanceId,
      { type: 'UpdateInstance', ...changes, now: ctx.now },
      ctx,
    );
    return { result: { instanceId }, written: [written(result.position, INSTANCES_PROJECTION)] };
  }
}
