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
import { tenantDecider, type TenantRole } from '../../domain/tenant';

/**
 * PATCH /tenants/:id/members/:userId: a member's new role, in force from the next request (the
 * guard reads roles from the tenants read model). The decider refuses demoting the last owner
 * (409 invalid_state) and lets only owners grant or take away the owner role (403).
 */
export class ChangeMemberRole extends UseCaseCommand<{ revision: bigint }> {
  constructor(
    readonly tenantId: string,
    readonly actorUserId: string,
    readonly memberUserId: string,
    readonly role: TenantRole,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ChangeMemberRole)
export class ChangeMemberRoleHandler extends UseCaseHandler<
  ChangeMemberRole,
  { revision: bigint }
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle(command: ChangeMemberRole): Promise<Handled<{ revision: bigint }>> {
    const result = await this.executor.execute(
      tenantDecider,
      command.tenantId,
      {
        type: 'ChangeTenantMemberRole',
        userId: command.memberUserId,
        role: command.role,
        actorUserId: command.actorUserId,
        now: this.clock.now(),
      },
      stepContext(command.ctx, 'change-member-role'),
    );
    return {
      result: { revision: result.revision },
      written: [written(result.position, TENANTS_PROJECTION)],
    };
  }
}
