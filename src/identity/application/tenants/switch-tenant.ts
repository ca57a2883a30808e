import { CommandHandler } from '@nestjs/cqrs';
import { USERS_PROJECTION } from '../../../../projections/identity';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { assertMayUseTenant } from '../../domain/tenant';
import { userDecider } from '../../domain/user';
import { Clock } from '../../../platform/clock';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { stepContext } from '../context';

/** POST /tenants/:id/switch: the caller's default tenant (JWT calls without X-Tenant-ID). */
export class SwitchTenant extends UseCaseCommand<void> {
  constructor(
    readonly userId: string,
    readonly tenantId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(SwitchTenant)
export class SwitchTenantHandler extends UseCaseHandler<SwitchTenant, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ userId, tenantId, ctx }: SwitchTenant): Promise<Handled<void>> {
    const memberships = await this.readModel.memberships(userId);
    assertMayUseTenant(
      memberships.map((m) => ({ tenantId: m.tenant_id, role: m.role })),
      tenantId,
    );
    const result = await this.executor.execute(
      userDecider,
      userId,
      { type: 'SwitchDefaultTenant', tenantId, now: this.clock.now() },
      stepContext(ctx, 'switch-tenant', { tenantId }),
    );
    return { result: undefined, written: [written(result.position, USERS_PROJECTION)] };
  }
}
