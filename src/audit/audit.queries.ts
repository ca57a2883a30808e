import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../platform/tokens';
import { ActorDirectory, actorKey } from './actor-directory';
import type { AuditStatus } from './domain/actions';
import type { AuditFilter, AuditReads, AuditRowWithKey, AuditSortKey } from './ports/audit-reads';

export type { AuditFilter, AuditRowWithKey, AuditSortKey } from './ports/audit-reads';

interface AuditRowDb {
  id: string;
  occurred_at: Date;
  actor: string;
  actor_type: 'user' | 'api_key' | 'system';
  actor_id: string;
  action: string;
  resource: string;
  status: AuditStatus;
  ip_address: string | null;
  request_id: string | null;
}

@Injectable()
export class AuditQueries implements AuditReads {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly actors: ActorDirectory,
  ) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') return [];
      throw err;
    }
  }

  /** Actor ids of a tenant's audit rows whose label (email, key name) is `label`. */
  async actorIdsLabelled(tenantId: string, label: string): Promise<string[]> {
    const actors = await this.rows<{ actor_type: 'user' | 'api_key' | 'system'; actor_id: string }>(
      'SELECT DISTINCT actor_type, actor_id FROM audit_log WHERE tenant_id = $1',
      [tenantId],
    );
    const list = actors.map((a) => ({ type: a.actor_type, id: a.actor_id }));
    const labels = await this.actors.labels(list);
    return list
      .filter(
        (a) => a.id === label || labels.get(actorKey(a))?.toLowerCase() === label.toLowerCase(),
      )
      .map((a) => a.id);
  }

  async list(
    filter: AuditFilter,
    after: AuditSortKey | null,
    limit: number,
  ): Promise<AuditRowWithKey[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.tenantId !== undefined) add((p) => `tenant_id = ${p}`, filter.tenantId);
    if (filter.actorIds) add((p) => `actor_id = ANY(${p}::text[])`, filter.actorIds);
    if (filter.action) add((p) => `action = ${p}`, filter.action);
    if (filter.resource) {
      const r = filter.resource;
      if (r.endsWith('*') || r.endsWith('/')) {
        const prefix = r.endsWith('*') ? r.slice(0, -1) : r;
        add((p) => `starts_with(resource, ${p})`, prefix);
      } else add((p) => `resource = ${p}`, r);
    }
    if (filter.status) add((p) => `status = ${p}`, filter.status);
    if (filter.from) add((p) => `occurred_at >= ${p}`, filter.from);
    if (filter.to) add((p) => `occurred_at < ${p}`, filter.to);
    if (after) {
      params.push(after[0], after[1]);
      where.push(
        `(occurred_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
      );
    }
    params.push(limit);
    const rows = await this.rows<AuditRowDb>(
      `SELECT id, occurred_at, actor, actor_type, actor_id, action, resource, status, ip_address,
              request_id
         FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY occurred_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const labels = await this.actors.labels(
      rows.map((r) => ({ type: r.actor_type, id: r.actor_id })),
    );
    return rows.map((r) => {
      const timestamp = r.occurred_at.toISOString();
      return {
        key: [timestamp, r.id],
        row: {
          id: r.id,
          timestamp,
          actor: labels.get(actorKey({ type: r.actor_type, id: r.actor_id })) ?? r.actor,
          action: r.action,
          resource: r.resource,
          status: r.status,
          ip_address: r.ip_address,
          request_id: r.request_id,
        },
      };
    });
  }
}
