import { CommandHandler } from '@nestjs/cqrs';
import { TENANTS_PROJECTION } from '../../../../projections/identity';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { derivedId } from '../context';
import { TenantsService } from './tenants.service';

/** POST /tenants: a tenant (slug claimed first) owned by the caller. */
export class CreateTenant extends UseCaseCommand<{ tenantId: string }> {
  constructor(
    readonly userId: string,
    readonly body: { name: string; slug: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateTenant)
export class CreateTenantHandler extends UseCaseHandler<CreateTenant, { tenantId: string }> {
  constructor(private readonly tenants: TenantsService) {
    super();
  }

  protected async handle({
    userId,
    body,
    ctx,
  }: CreateTenant): Promise<Handled<{ tenantId: string }>> {
    const tenantId = derivedId(ctx, 'tenant');
    const result = await this.tenants.create(
      { tenantId, name: body.name, slug: body.slug, ownerId: userId, actorUserId: userId },
      ctx,
    );
    return { result: { tenantId }, written: [written(result.position, TENANTS_PROJECTION)] };
  }
}
