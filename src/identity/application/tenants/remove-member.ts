import { CommandHandler } from '@nestjs/cqrs';
import { TENANTS_PROJECTION } from '../../../../projections/identity';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';
import { tenantDecider } from '../../domain/tenant';

/** DELETE /tenants/:id/members/:userId: same owner rules as a role change; access ends on answer. */
export class RemoveMember extends UseCaseCommand<void> {
  constructor(
    readonly tenantId: string,
    readonly actorUserId: string,
    readonly memberUserId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RemoveMember)
export class RemoveMemberHandler extends UseCaseHandler<RemoveMember, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle(command: RemoveMember): Promise<Handled<void>> {
    const result = await this.executor.execute(
      tenantDecider,
      command.tenantId,
      {
        type: 'RemoveTenantMember',
        userId: command.memberUserId,
        actorUserId: command.actorUserId,
        now: this.clock.now(),
      },
      stepContext(command.ctx, 'remove-member'),
    );
    return { result: undefined, written: [written(result.position, TENANTS_PROJECTION)] };
  }
}
