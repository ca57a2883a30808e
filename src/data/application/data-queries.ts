import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import { fetchSize, paginate, type PageEnvelope, type PageRequest } from '../../common/pagination';
import type { Found } from '../../platform/http/after-write';
import { PG_POOL } from '../../platform/tokens';
import type { CacheState, DatabaseState } from '../domain';

type CreatedKey = [string, string];

interface Row<S> {
  id: string;
  state: S;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

export interface CacheView {
  id: string;
  name: string;
  engine: 'redis';
  engine_version: '7';
  memory_mb: number;
  status: string;
  endpoint: { host: string; port: number } | null;
  failure_reason: string | null;
  last_flushed_at: string | null;
  created_at: string;
  updated_at: string;
}

export function cacheView(row: Row<CacheState>): CacheView {
  const s = row.state;
  return {
    id: row.id,
    name: s.name as string,
    engine: 'redis',
    engine_version: '7',
    memory_mb: s.memoryMb,
    status: s.status,
    endpoint: s.status === 'RUNNING' ? s.endpoint : null,
    failure_reason: s.failureReason,
    last_flushed_at: s.lastFlushedAt,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export interface DatabaseView {
  id: string;
  name: string;
  engine: string;
  version: string;
  role: string;
  status: string;
  allocated_storage: number;
  pooling_enabled: boolean;
  metrics_enabled: boolean;
  parameters: Record<string, string>;
  endpoint: { host: string; port: number; pooler_port: number | null } | null;
  credentials_version: number;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

export function databaseView(row: Row<DatabaseState>): DatabaseView {
  const s = row.state;
  return {
    id: row.id,
    name: s.name as string,
    engine: s.engine as string,
    version: s.version as string,
    role: s.role,
    status: s.status,
    allocated_storage: s.settings.allocatedStorageGb,
    pooling_enabled: s.settings.poolingEnabled,
    metrics_enabled: s.settings.metricsEnabled,
    parameters: s.settings.parameters,
    endpoint:
      s.status === 'RUNNING' && s.endpoint
        ? { host: s.endpoint.host, port: s.endpoint.port, pooler_port: s.endpoint.poolerPort }
        : null,
    credentials_version: s.credentialsVersion,
    failure_reason: s.failureReason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Reads of the data context's read models; another tenant's rows are invisible (404). */
@Injectable()
export class DataQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async cache(tenantId: string, id: string): Promise<Found<CacheView>> {
    const { rows } = await this.pool.query<Row<CacheState>>(
      `SELECT id, state, revision, created_at, updated_at FROM data_caches
       WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'`,
      [id, tenantId],
    );
    if (!rows[0]) throw AppError.notFound('cache', id);
    return { view: cacheView(rows[0]), revision: rows[0].revision };
  }

  caches(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<CacheView[] | PageEnvelope<CacheView>> {
    return this.page('data_caches', tenantId, page, cacheView);
  }

  async database(tenantId: string, id: string): Promise<Found<DatabaseView>> {
    const { rows } = await this.pool.query<Row<DatabaseState>>(
      `SELECT id, state, revision, created_at, updated_at FROM data_databases
       WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'`,
      [id, tenantId],
    );
    if (!rows[0]) throw AppError.notFound('database', id);
    return { view: databaseView(rows[0]), revision: rows[0].revision };
  }

  databases(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<DatabaseView[] | PageEnvelope<DatabaseView>> {
    return this.page('data_databases', tenantId, page, databaseView);
  }

  private async page<S, V>(
    table: string,
    tenantId: string,
    page: PageRequest<CreatedKey>,
    view: (row: Row<S>) => V,
  ): Promise<V[] | PageEnvelope<V>> {
    const params: unknown[] = [tenantId];
    let after = '';
    if (page.after) {
      const key = page.after;
      if (!Array.isArray(key) || key.length !== 2 || Number.isNaN(Date.parse(String(key[0])))) {
        throw AppError.validation('cursor is not valid', [
          { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
        ]);
      }
      params.push(key[0], key[1]);
      after = ' AND (created_at, id) > ($2::timestamptz, $3::uuid)';
    }
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<Row<S>>(
      `SELECT id, state, revision, created_at, updated_at FROM ${table}
       WHERE tenant_id = $1 AND status <> 'deleted'${after} ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, (r): CreatedKey => [r.created_at.toISOString(), r.id]);
    return Array.isArray(result)
      ? result.map(view)
      : { items: result.items.map(view), page: result.page };
  }
}
