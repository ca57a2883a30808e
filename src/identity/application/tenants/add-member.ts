import { AppError } from '../../../common/errors/app-error';
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
import { IdentityReadModel } from '../../read-model/identity-read-model';

/** POST /tenants/:id/members: a user joins the tenant with a role. */
export class AddMember extends UseCaseCommand<{ revision: bigint }> {
  constructor(
    readonly tenantId: string,
    readonly actorUserId: string,
    readonly body: { user_id: string; role: TenantRole },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AddMember)
export class AddMemberHandler extends UseCaseHandler<AddMember, { revision: bigint }> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({
    tenantId,
    actorUserId,
    body,
    ctx,
  }: AddMember): Promise<Handled<{ revision: bigint }>> {
    const user = await this.readModel.user(body.user_id);
    if (!user || user.status !== 'active') throw AppError.notFound('user', body.user_id);
    const result = await this.executor.execute(
      tenantDecider,
      tenantId,
      {
        type: 'AddTenantMember',
        userId: body.user_id,
        role: body.role,
        actorUserId,
        now: this.clock.now(),
      },
      stepContext(ctx, 'add-member'),
    );
    return {
      result: { revision: result.revision },
      written: [written(result.position, TENANTS_PROJECTION)],
    };
  }
}
