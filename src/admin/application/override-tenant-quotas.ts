import { CommandHandler } from '@nestjs/cqrs';
import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { tenantDecider } from '../../identity/domain/tenant';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { QuotaService, type TenantQuota } from '../../platform/quotas/quota.service';

/** A tenant that exists, else 404 (also for ids that are not uuids). */
export async function requireTenant(executor: CommandExecutor, tenantId: string): Promise<void> {
  if (!isUuid(tenantId) || !(await executor.load(tenantDecider, tenantId)).state.exists) {
    throw AppError.notFound('tenant', tenantId);
  }
}

/**
 * PUT /admin/quotas/:tenantId: an operator's limits for one tenant (`null`: back to the default),
 * recorded as QuotaLimitsOverridden in the tenant's quota ledger (audited as QUOTA_OVERRIDE, in
 * the tenant's audit log, with the operator as actor). Answers the tenant's quotas after it.
 */
export class OverrideTenantQuotas extends UseCaseCommand<TenantQuota[]> {
  constructor(
    readonly tenantId: string,
    readonly limits: Readonly<Record<string, number | null>>,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(OverrideTenantQuotas)
export class OverrideTenantQuotasHandler extends UseCaseHandler<
  OverrideTenantQuotas,
  TenantQuota[]
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({
    tenantId,
    limits,
    ctx,
  }: OverrideTenantQuotas): Promise<Handled<TenantQuota[]>> {
    await requireTenant(this.executor, tenantId);
    const position = await this.quotas.override(tenantId, limits, ctx);
    // The answer is read from the ledger itself: no read model to wait for.
    return { result: await this.quotas.ofTenant(tenantId), written: [written(position)] };
  }
}
