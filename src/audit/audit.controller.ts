import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors/app-error';
import { paginate, parsePage } from '../common/pagination';
import { CallerTenant } from '../platform/http/caller';
import { RequireAction } from '../identity/auth/decorators';
import { RESOURCE_CATALOG, ResourceCatalog } from '../platform/resources/resource-catalog';
import { parseInstantParam } from '../events/query-params';
import { AuditQuery } from './audit.dto';
import { AuditQueries, type AuditFilter, type AuditSortKey } from './audit.queries';
import type { AuditStatus } from './domain/actions';
import { z } from 'zod';
import { AuditActionSchema, AuditEntrySchema } from './audit.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../platform/http/api-schema';

const STATUSES: readonly AuditStatus[] = ['success', 'failure', 'denied'];

/**
 * The audit log of the caller's tenant, read-only: there is no route that edits or deletes it.
 */
@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(
    private readonly queries: AuditQueries,
    @Inject(RESOURCE_CATALOG) private readonly resources: ResourceCatalog,
  ) {}

  @Get()
  @RequireAction('audit:list', { description: "List the tenant's audit log" })
  @ApiOperationFor({
    id: 'listAuditEntries',
    summary: 'Audit log of the tenant, newest first (filters, cursor envelope)',
    response: AuditEntrySchema,
    page: true,
    errors: ['validation_error'],
  })
  async list(
    @CallerTenant() tenantId: string,
    @Query() query: AuditQuery,
  ): Promise<ResponsePage<typeof AuditEntrySchema>> {
    const page = parsePage<AuditSortKey>(query);
    const after = page.after;
    if (
      after !== null &&
      !(Array.isArray(after) && after.length === 2 && after.every((x) => typeof x === 'string'))
    ) {
      throw AppError.validation('cursor is not valid', [
        { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
      ]);
    }
    const filter: AuditFilter = { tenantId };
    const fields: Array<{ path: string; message: string }> = [];
    if (query.status) {
      if (!STATUSES.includes(query.status as AuditStatus)) {
        fields.push({ path: 'status', message: `expected one of ${STATUSES.join(', ')}` });
      } else filter.status = query.status as AuditStatus;
    }
    if (query.action) {
      if (!this.resources.audit.actionNames().has(query.action)) {
        fields.push({ path: 'action', message: 'unknown action; see GET /audit/actions' });
      } else filter.action = query.action;
    }
    if (fields.length > 0) throw AppError.validation('invalid audit filters', fields);
    if (query.resource) filter.resource = query.resource;
    filter.from = parseInstantParam(query.from, 'from');
    filter.to = parseInstantParam(query.to, 'to');
    if (query.actor) filter.actorIds = await this.queries.actorIdsLabelled(tenantId, query.actor);
    const rows = await this.queries.list(filter, after, page.limit + 1);
    const result = paginate(rows, page, (r) => r.key);
    return Array.isArray(result)
      ? result.map((r) => r.row)
      : { ...result, items: result.items.map((r) => r.row) };
  }

  @Get('actions')
  @RequireAction('audit:describe', { description: 'List the audit action catalog' })
  @ApiOperationFor({
    id: 'listAuditActions',
    summary: 'The catalog of audit actions and the events behind them',
    response: z.array(AuditActionSchema),
  })
  actions(): ResponseBody<typeof AuditActionSchema>[] {
    return this.resources.audit.describe();
  }
}
