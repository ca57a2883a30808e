import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import { fetchSize, paginate, type PageEnvelope, type PageRequest } from '../../common/pagination';
import type { Found } from '../../platform/http/after-write';
import { PG_POOL } from '../../platform/tokens';
import type { CacheState, DatabaseState, SnapshotState } from '../domain';

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
  primary_id: string | null;
  status: string;
  allocated_storage: number;
  pooling_enabled: boolean;
  metrics_enabled: boolean;
  parameters: Record<string, string>;
  endpoint: {
    host: string;
    port: number;
    pooler_port: number | null;
    metrics_url: string | null;
  } | null;
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
    primary_id: s.primaryId ?? null,
    status: s.status,
    allocated_storage: s.settings.allocatedStorageGb,
    pooling_enabled: s.settings.poolingEnabled,
    metrics_enabled: s.settings.metricsEnabled,
    parameters: s.settings.parameters,
    endpoint:
      s.status === 'RUNNING' && s.endpoint
        ? {
            host: s.endpoint.host,
            port: s.endpoint.port,
            pooler_port: s.endpoint.poolerPort,
            metrics_url: s.endpoint.metricsPort
              ? `http://${s.endpoint.host}:${s.endpoint.metricsPort}/metrics`
              : null,
          }
        : null,
    credentials_version: s.credentialsVersion,
    failure_reason: s.failureReason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export interface DatabaseSnapshotView {
  id: string;
  name: string;
  database_id: string;
  database_name: string;
  engine: string;
  version: string;
  status: string;
  /** The source's allocated storage: the least a restore may ask for (and its default). */
  allocated_storage: number;
  /** The source's settings: a restore's defaults. */
  pooling_enabled: boolean;
  metrics_enabled: boolean;
  parameters: Record<string, string>;
  size_bytes: number | null;
  sha256: string | null;
  failure_reason: string | null;
  /** Taken by the database's delete (`DELETE /databases/:id?final_snapshot_name=`). */
  final: boolean;
  created_at: string;
  updated_at: string;
}

export function databaseSnapshotView(row: Row<SnapshotState>): DatabaseSnapshotView {
  const s = row.state;
  return {
    id: row.id,
    name: s.name as string,
    database_id: s.databaseId as string,
    database_name: s.databaseName as string,
    engine: s.engine as string,
    version: s.version as string,
    status: s.status,
    allocated_storage: s.settings?.allocatedStorageGb ?? 0,
    pooling_enabled: s.settings?.poolingEnabled ?? false,
    metrics_enabled: s.settings?.metricsEnabled ?? false,
    parameters: s.settings?.parameters ?? {},
    size_bytes: s.sizeBytes,
    sha256: s.sha256,
    failure_reason: s.failureReason,
    final: s.final ?? false,
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

  /** Replicas of a primary that are not gone (a DELETING one still counts until it is). */
  async replicaIdsOf(tenantId: string, primaryId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM data_databases
        WHERE tenant_id = $1 AND role = 'REPLICA' AND state->>'primaryId' = $2
          AND status <> 'deleted' ORDER BY created_at, id`,
      [tenantId, primaryId],
    );
    return rows.map((r) => r.id);
  }

  databases(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<DatabaseView[] | PageEnvelope<DatabaseView>> {
    return this.page('data_databases', tenantId, page, databaseView);
  }

  async databaseSnapshot(tenantId: string, id: string): Promise<Found<DatabaseSnapshotView>> {
    const { rows } = await this.pool.query<Row<SnapshotState>>(
      `SELECT id, state, revision, created_at, updated_at FROM data_database_snapshots
       WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'`,
      [id, tenantId],
    );
    if (!rows[0]) throw AppError.notFound('database_snapshot', id);
    return { view: databaseSnapshotView(rows[0]), revision: rows[0].revision };
  }

  /**
   * A database's snapshots, oldest first, also those of a deleted database; a database id the
   * tenant never had a database or snapshot of is 404, as any other tenant's resource.
   */
  async databaseSnapshots(
    tenantId: string,
    databaseId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<DatabaseSnapshotView[] | PageEnvelope<DatabaseSnapshotView>> {
    const { rows } = await this.pool.query<{ known: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM data_databases WHERE id = $1 AND tenant_id = $2)
           OR EXISTS (SELECT 1 FROM data_database_snapshots
                       WHERE database_id = $1 AND tenant_id = $2) AS known`,
      [databaseId, tenantId],
    );
    if (!rows[0]?.known) throw AppError.notFound('database', databaseId);
    return this.page('data_database_snapshots', tenantId, page, databaseSnapshotView, databaseId);
  }

  private async page<S, V>(
    table: string,
    tenantId: string,
    page: PageRequest<CreatedKey>,
    view: (row: Row<S>) => V,
    databaseId?: string,
  ): Promise<V[] | PageEnvelope<V>> {
    const params: unknown[] = [tenantId];
    let ofDatabase = '';
    if (databaseId !== undefined) {
      params.push(databaseId);
      ofDatabase = ` AND database_id = $${params.length}`;
    }
    let after = '';
    if (page.after) {
      const key = page.after;
      if (!Array.isArray(key) || key.length !== 2 || Number.isNaN(Date.parse(String(key[0])))) {
        throw AppError.validation('cursor is not valid', [
          { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
        ]);
      }
      params.push(key[0], key[1]);
      after = ` AND (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<Row<S>>(
      `SELECT id, state, revision, created_at, updated_at FROM ${table}
       WHERE tenant_id = $1 AND status <> 'deleted'${ofDatabase}${after} ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, (r): CreatedKey => [r.created_at.toISOString(), r.id]);
    return Array.isArray(result)
      ? result.map(view)
      : { items: result.items.map(view), page: result.page };
  }
}
