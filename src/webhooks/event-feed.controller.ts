import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { AppError } from '../common/errors/app-error';
import { paginate, parsePage } from '../common/pagination';
import { RequireAction } from '../identity/auth/decorators';
import { RESOURCE_CATALOG, ResourceCatalog } from '../platform/resources/resource-catalog';
import { PG_POOL } from '../platform/tokens';
import { publicEventData } from './domain/payload';
import { EventsQuery } from './webhooks.dto';
import { CallerTenant } from '../platform/http/caller';
import { parseInstantParam } from '../events/query-params';
import { z } from 'zod';
import { EventSchema, EventTypeSchema } from './webhooks.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../platform/http/api-schema';

interface FeedRow {
  event_id: string;
  pos_commit: string;
  pos_prepare: string;
  event_type: string;
  resource: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string;
  data: unknown;
}

/** Newest first by log position: [commit, prepare] as decimal text. */
type FeedKey = [string, string];

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(RESOURCE_CATALOG) private readonly resources: ResourceCatalog,
  ) {}

  @Get()
  @RequireAction('events:list', { description: "List the tenant's events (the event feed)" })
  @ApiOperationFor({
    id: 'listEvents',
    summary: "The tenant's events, newest first (filters type, resource, from, to)",
    response: EventSchema,
    page: true,
    errors: ['validation_error'],
  })
  async list(
    @CallerTenant() tenantId: string,
    @Query() query: EventsQuery,
  ): Promise<ResponsePage<typeof EventSchema>> {
    const page = parsePage<FeedKey>(query);
    const after = page.after;
    if (
      after !== null &&
      !(
        Array.isArray(after) &&
        after.length === 2 &&
        after.every((x) => /^\d{1,20}$/.test(String(x)))
      )
    ) {
      throw AppError.validation('cursor is not valid', [
        { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
      ]);
    }
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    const add = (sql: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (query.type) {
      if (query.type.endsWith('*'))
        add((p) => `starts_with(event_type, ${p})`, query.type.slice(0, -1));
      else add((p) => `event_type = ${p}`, query.type);
    }
    if (query.resource) {
      const r = query.resource;
      if (r.endsWith('*') || r.endsWith('/')) {
        add((p) => `starts_with(resource, ${p})`, r.endsWith('*') ? r.slice(0, -1) : r);
      } else add((p) => `resource = ${p}`, r);
    }
    const from = parseInstantParam(query.from, 'from');
    const to = parseInstantParam(query.to, 'to');
    if (from) add((p) => `occurred_at >= ${p}`, from);
    if (to) add((p) => `occurred_at < ${p}`, to);
    if (after) {
      params.push(after[0], after[1]);
      where.push(
        `(pos_commit, pos_prepare) < ($${params.length - 1}::numeric, $${params.length}::numeric)`,
      );
    }
    params.push(page.limit + 1);
    let rows: FeedRow[] = [];
    try {
      rows = (
        await this.pool.query<FeedRow>(
          `SELECT event_id, pos_commit::text, pos_prepare::text, event_type, resource, occurred_at,
                  actor_type, actor_id, data
             FROM event_feed WHERE ${where.join(' AND ')}
            ORDER BY pos_commit DESC, pos_prepare DESC LIMIT $${params.length}`,
          params,
        )
      ).rows;
    } catch (err) {
      if ((err as { code?: string }).code !== '42P01') throw err;
    }
    const items = rows.map((r) => ({
      key: [r.pos_commit, r.pos_prepare] as FeedKey,
      item: {
        id: r.event_id,
        type: r.event_type,
        occurred_at: r.occurred_at.toISOString(),
        resource: r.resource,
        actor: { type: r.actor_type, id: r.actor_id },
        position: `${r.pos_commit}-${r.pos_prepare}`,
        data: publicEventData(r.data),
      },
    }));
    const result = paginate(items, page, (r) => r.key);
    return Array.isArray(result)
      ? result.map((r) => r.item)
      : { ...result, items: result.items.map((r) => r.item) };
  }

  @Get('types')
  @RequireAction('events:describe', { description: 'List the event types (for webhook filters)' })
  @ApiOperationFor({
    id: 'listEventTypes',
    summary: 'Every event type the contexts emit, with the audit action each one maps to',
    response: z.array(EventTypeSchema),
  })
  types(): ResponseBody<typeof EventTypeSchema>[] {
    return this.resources.eventTypes();
  }
}
