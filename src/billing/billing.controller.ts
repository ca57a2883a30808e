import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors/app-error';
import { paginate, parsePage } from '../common/pagination';
import { CallerTenant } from '../platform/http/caller';
import { RequireAction } from '../identity/auth/decorators';
import { Clock } from '../platform/clock';
import { BillingSummaryQuery, BillingUsageQuery } from './billing.dto';
import { BillingQueries, presentUsage, usageKeyOf, type UsageSortKey } from './billing.queries';
import {
  parsePeriod,
  periodContaining,
  RESOURCE_TYPES,
  toEpochSeconds,
  type BillingPeriod,
  type ResourceType,
} from './domain';
import { BillingSummarySchema, UsageRecordSchema } from './billing.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../platform/http/api-schema';

@ApiTags('billing')
@Controller('billing')
export class BillingController {
  constructor(
    private readonly queries: BillingQueries,
    private readonly clock: Clock,
  ) {}

  private period(query: { period?: string }, now: number): BillingPeriod {
    return query.period ? parsePeriod(query.period) : periodContaining(now);
  }

  @Get('summary')
  @RequireAction('billing:read', { description: "Read the tenant's billing summary and usage" })
  @ApiOperationFor({
    id: 'getBillingSummary',
    summary: 'Billing summary of a period (YYYY-MM, default: the current month)',
    response: BillingSummarySchema,
    errors: ['validation_error'],
  })
  async summary(
    @CallerTenant() tenantId: string,
    @Query() query: BillingSummaryQuery,
  ): Promise<ResponseBody<typeof BillingSummarySchema>> {
    const now = toEpochSeconds(this.clock.now());
    return this.queries.summary(tenantId, this.period(query, now), now);
  }

  @Get('usage')
  @RequireAction('billing:read')
  @ApiOperationFor({
    id: 'listBillingUsage',
    summary: 'Usage records of a period (cursor envelope with envelope=true)',
    response: UsageRecordSchema,
    page: true,
    errors: ['validation_error'],
  })
  async usage(
    @CallerTenant() tenantId: string,
    @Query() query: BillingUsageQuery,
  ): Promise<ResponsePage<typeof UsageRecordSchema>> {
    const now = toEpochSeconds(this.clock.now());
    const page = parsePage<UsageSortKey>(query);
    const after = page.after;
    if (
      after !== null &&
      !(
        Array.isArray(after) &&
        after.length === 3 &&
        Number.isSafeInteger(after[0]) &&
        typeof after[1] === 'string' &&
        Number.isSafeInteger(after[2])
      )
    ) {
      throw AppError.validation('cursor is not valid', [
        { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
      ]);
    }
    const resourceType = query.resource_type;
    if (resourceType !== undefined && !RESOURCE_TYPES.includes(resourceType as ResourceType)) {
      throw AppError.validation('resource_type is not valid', [
        { path: 'resource_type', message: `expected one of ${RESOURCE_TYPES.join(', ')}` },
      ]);
    }
    const rows = await this.queries.usage(
      tenantId,
      this.period(query, now),
      now,
      {
        resourceId: query.resource_id || undefined,
        resourceType: resourceType as ResourceType | undefined,
      },
      after,
      page.limit + 1,
    );
    const result = paginate(rows, page, usageKeyOf);
    return Array.isArray(result)
      ? presentUsage(result)
      : { ...result, items: presentUsage(result.items) };
  }
}
