import { Body, Controller, Get, Inject, Param, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors/app-error';
import { Ctx } from '../common/request-context';
import { CommandExecutor } from '../eventstore/command-executor';
import type { CommandContext } from '../kernel/command-context';
import { OperatorOnly } from '../identity/auth/decorators';
import { MAX_QUOTA_LIMIT, QUOTA_NAME } from '../platform/quotas/quota-ledger';
import { QuotaService, type TenantQuota } from '../platform/quotas/quota.service';
import { OverrideTenantQuotas, requireTenant } from './application/override-tenant-quotas';
import { ApiOperationFor } from '../platform/http/api-operation';

export class TenantQuotaJson {
  @ApiProperty({ example: 'instances' })
  name!: string;

  @ApiProperty({ example: 'live instances (running or stopped, until terminated)' })
  description!: string;

  @ApiProperty({ example: 'compute', description: 'The context that declared the quota.' })
  context!: string;

  @ApiProperty({ description: "The limit in force: the operator's override, else the default." })
  limit!: number;

  @ApiProperty({ description: "Every tenant's limit unless overridden." })
  default_limit!: number;

  @ApiProperty()
  overridden!: boolean;

  @ApiProperty({ description: 'What the tenant holds now.' })
  usage!: number;
}

export class TenantQuotasJson {
  @ApiProperty({ format: 'uuid' })
  tenant_id!: string;

  @ApiProperty({ type: TenantQuotaJson, isArray: true })
  quotas!: TenantQuotaJson[];
}

function present(tenantId: string, quotas: TenantQuota[]): TenantQuotasJson {
  return {
    tenant_id: tenantId,
    quotas: quotas.map((q) => ({
      name: q.name,
      description: q.description,
      context: q.context,
      limit: q.limit,
      default_limit: q.defaultLimit,
      overridden: q.overridden,
      usage: q.usage,
    })),
  };
}

/** `{ "<quota>": n | null }`, checked here: its keys are the quotas, so no DTO class fits. */
export function parseQuotaLimits(body: unknown): Record<string, number | null> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw AppError.validation('the body is an object of quota limits, e.g. {"instances": 20}', [
      { path: '', message: 'must be an object' },
    ]);
  }
  const entries = Object.entries(body as Record<string, unknown>);
  const fields = entries.flatMap(([name, value]) => {
    if (!QUOTA_NAME.test(name)) return [{ path: name, message: 'is not a quota name' }];
    const ok =
      value === null ||
      (typeof value === 'number' &&
        Number.isSafeInteger(value) &&
        value >= 0 &&
        value <= MAX_QUOTA_LIMIT);
    return ok ? [] : [{ path: name, message: `must be an integer 0..${MAX_QUOTA_LIMIT} or null` }];
  });
  if (entries.length === 0) fields.push({ path: '', message: 'must name at least one quota' });
  if (fields.length > 0) {
    throw AppError.validation(
      fields.length === 1
        ? `${fields[0].path || 'body'}: ${fields[0].message}`
        : 'invalid quota limits',
      fields,
    );
  }
  return Object.fromEntries(entries) as Record<string, number | null>;
}

/** ADMIN ROUTES: operators read and override any tenant's quotas. */
@ApiTags('admin')
@OperatorOnly()
@Controller('admin/quotas')
export class AdminQuotasController {
  constructor(
    private readonly quotas: QuotaService,
    private readonly commands: CommandBus,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
  ) {}

  @Get(':tenantId')
  @ApiOperationFor({
    id: 'getTenantQuotas',
    summary: "A tenant's quotas: limit in force, default, override and usage",
    response: TenantQuotasJson,
    errors: ['not_found'],
  })
  async get(@Param('tenantId') tenantId: string): Promise<TenantQuotasJson> {
    await requireTenant(this.executor, tenantId);
    return present(tenantId, await this.quotas.ofTenant(tenantId));
  }

  @Put(':tenantId')
  @ApiBody({
    schema: {
      type: 'object',
      additionalProperties: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_QUOTA_LIMIT,
        nullable: true,
      },
      example: { instances: 20, elastic_ips: null },
    },
  })
  @ApiOperationFor({
    id: 'setTenantQuotas',
    summary: 'Override a tenant\'s quota limits ({"instances": 20}; null restores the default)',
    response: TenantQuotasJson,
    errors: ['validation_error', 'not_found', 'concurrency_conflict'],
  })
  async put(
    @Param('tenantId') tenantId: string,
    @Body() body: unknown,
    @Ctx() ctx: CommandContext,
  ): Promise<TenantQuotasJson> {
    const limits = parseQuotaLimits(body);
    const { result } = await this.commands.execute(new OverrideTenantQuotas(tenantId, limits, ctx));
    return present(tenantId, result);
  }
}
