import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { AppError } from '../../common/errors/app-error';
import {
  afterCreatedKey,
  createdKeyOf,
  fetchSize,
  paginate,
  type CreatedKey,
  type PageEnvelope,
  type PageRequest,
} from '../../common/pagination';
import { PG_POOL } from '../../platform/tokens';
import type { ImageNameCandidate, ImageState, InstanceState, VolumeState } from '../domain';
import {
  imageView,
  instanceView,
  volumeView,
  type ImageView,
  type InstanceView,
  type VolumeView,
} from './views';

/** Sort key of list pages: creation time, then id. */

interface StateRow<S> {
  state: S;
  revision: string;
  created_at: Date;
  id: string;
}

import type { Found } from '../../platform/http/after-write';
export type { Found };

export interface LogQuery {
  tenantId: string;
  resourceId?: string;
  resourceType?: string;
  level?: string;
  search?: string;
  startTime?: string;
  endTime?: string;
  limit: number;
  offset: number;
}

export interface LogEntryView {
  id: string;
  resource_id: string;
  resource_type: string;
  level: string;
  source: string;
  message: string;
  timestamp: string;
}

/** Reads of the compute read models; another tenant's rows are invisible (404 on a single one). */
/** A host port a live instance publishes, and where inside the instance it leads. */
export interface PortPublication {
  hostPort: number;
  instanceId: string;
  containerPort: number;
  /** The instance's address in its subnet; loopback inside its namespace without a NIC. */
  targetAddress: string;
}

@Injectable()
export class ComputeQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async instance(tenantId: string, id: string): Promise<Found<InstanceView>> {
    const { rows } = await this.pool.query<StateRow<InstanceState>>(
      'SELECT id, state, revision, created_at FROM compute_instances WHERE id = $1 AND tenant_id = $2',
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound('instance', id);
    return { view: instanceView(row.state), revision: row.revision };
  }

  async instances(
    tenantId: string,
    page: PageRequest<CreatedKey>,
    filter: { status?: string; clusterId?: string } = {},
  ): Promise<InstanceView[] | PageEnvelope<InstanceView>> {
    const params: unknown[] = [tenantId];
    let where = 'tenant_id = $1';
    if (filter.status) {
      params.push(filter.status);
      where += ` AND status = $${params.length}`;
    }
    if (filter.clusterId) {
      params.push(filter.clusterId);
      where += ` AND state->'managedBy'->>'kind' = 'cluster' AND state->'managedBy'->>'id' = $${params.length}`;
    }
    where += afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<StateRow<InstanceState>>(
      `SELECT id, state, revision, created_at FROM compute_instances WHERE ${where}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    return Array.isArray(result)
      ? result.map((r) => instanceView(r.state))
      : mapEnvelope(result, (r) => instanceView(r.state));
  }

  /** Live instances (not TERMINATED) booted from an image, for the image delete check. */
  async instancesUsingImage(imageId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM compute_instances WHERE image_id = $1 AND status <> 'TERMINATED'",
      [imageId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Host ports held by live instances (the launch's 409 check). */
  async hostPortsInUse(
    ports: readonly number[],
  ): Promise<Array<{ port: number; instanceId: string }>> {
    if (ports.length === 0) return [];
    const { rows } = await this.pool.query<{ port: number; id: string }>(
      `SELECT p AS port, id FROM compute_instances, unnest(host_ports) AS p
       WHERE status NOT IN ('TERMINATED', 'ERROR') AND p = ANY($1::int[])`,
      [ports],
    );
    return rows.map((r) => ({ port: r.port, instanceId: r.id }));
  }

  /** The ports live instances publish on the host (those the launch's 409 check holds). */
  async publishedPorts(): Promise<PortPublication[]> {
    const { rows } = await this.pool
      .query<{
        id: string;
        ports: Array<{ host: number; container: number }> | null;
        private_ip: string | null;
      }>(
        `SELECT id, state->'ports' AS ports, state->>'privateIp' AS private_ip
         FROM compute_instances
         WHERE status NOT IN ('TERMINATED', 'ERROR') AND host_ports <> '{}'`,
      )
      .catch((error: unknown) => {
        // Before the projection created its table (a fresh database) there is nothing to list.
        if ((error as { code?: string }).code === '42P01') return { rows: [] };
        throw error;
      });
    return rows.flatMap((row) =>
      (row.ports ?? []).map((p) => ({
        hostPort: p.host,
        instanceId: row.id,
        containerPort: p.container,
        targetAddress: row.private_ip ?? '127.0.0.1',
      })),
    );
  }

  /** Instances that still exist and Nimbus runs itself (for the reconciler and the log collector). */
  async liveInstances(): Promise<
    Array<{ id: string; tenantId: string; status: string; containerId: string | null }>
  > {
    const { rows } = await this.pool
      .query<{
        id: string;
        tenant_id: string;
        status: string;
        container_id: string | null;
      }>(
        // Managed machines (a cluster's nodes) are their owner's to reconcile, log and plug.
        `SELECT id, tenant_id, status, state->>'containerId' AS container_id
         FROM compute_instances WHERE status <> 'TERMINATED' AND state->>'managedBy' IS NULL`,
      )
      .catch((error: unknown) => {
        // Before the projection created its table (a fresh database) there is nothing to list.
        if ((error as { code?: string }).code === '42P01') return { rows: [] };
        throw error;
      });
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      status: r.status,
      containerId: r.container_id,
    }));
  }

  async image(tenantId: string, id: string): Promise<Found<ImageView>> {
    const { rows } = await this.pool.query<StateRow<ImageState>>(
      `SELECT id, state, revision, created_at FROM compute_images
       WHERE id = $1 AND status <> 'DELETED' AND (is_public OR tenant_id = $2)`,
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound('image', id);
    return { view: imageView(row.state), revision: row.revision };
  }

  /** The ACTIVE images visible to the tenant with this name (own, public, system). */
  async imagesNamed(tenantId: string, name: string): Promise<ImageNameCandidate[]> {
    const { rows } = await this.pool.query<{
      id: string;
      tenant_id: string | null;
      system: boolean;
      created_at: Date;
    }>(
      `SELECT id, tenant_id, system, created_at FROM compute_images
       WHERE name = $1 AND status = 'ACTIVE' AND (tenant_id = $2 OR is_public)
       ORDER BY system DESC, (tenant_id = $2) DESC NULLS LAST, created_at DESC, id LIMIT 50`,
      [name, tenantId],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      system: r.system,
      createdAt: r.created_at,
    }));
  }

  async images(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<ImageView[] | PageEnvelope<ImageView>> {
    const params: unknown[] = [tenantId];
    const where =
      "status <> 'DELETED' AND (is_public OR tenant_id = $1)" + afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<StateRow<ImageState>>(
      `SELECT id, state, revision, created_at FROM compute_images WHERE ${where}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    return Array.isArray(result)
      ? result.map((r) => imageView(r.state))
      : mapEnvelope(result, (r) => imageView(r.state));
  }

  /** Images whose import was under way (to resume or fail them after a restart). */
  async importingImages(): Promise<ImageState[]> {
    const { rows } = await this.pool.query<{ state: ImageState }>(
      "SELECT state FROM compute_images WHERE status = 'PENDING' AND state->'importing' <> 'null'::jsonb",
    );
    return rows.map((r) => r.state);
  }

  async volume(tenantId: string, id: string): Promise<Found<VolumeView>> {
    const { rows } = await this.pool.query<StateRow<VolumeState>>(
      `SELECT id, state, revision, created_at FROM compute_volumes
       WHERE id = $1 AND tenant_id = $2 AND status <> 'DELETED'`,
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound('volume', id);
    return { view: volumeView(row.state), revision: row.revision };
  }

  async volumes(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<VolumeView[] | PageEnvelope<VolumeView>> {
    const params: unknown[] = [tenantId];
    const where = "tenant_id = $1 AND status <> 'DELETED'" + afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<StateRow<VolumeState>>(
      `SELECT id, state, revision, created_at FROM compute_volumes WHERE ${where}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    return Array.isArray(result)
      ? result.map((r) => volumeView(r.state))
      : mapEnvelope(result, (r) => volumeView(r.state));
  }

  /** Instance reservations older than `before` (candidates for the orphan check). */
  async instanceReservationsBefore(
    before: Date,
  ): Promise<Array<{ tenantId: string; instanceId: string }>> {
    const { rows } = await this.pool
      .query<{ tenant_id: string; resource_id: string }>(
        `SELECT tenant_id, resource_id FROM compute_quota_reservations
         WHERE kind = 'instance' AND reserved_at < $1`,
        [before],
      )
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === '42P01') return { rows: [] };
        throw error;
      });
    return rows.map((r) => ({ tenantId: r.tenant_id, instanceId: r.resource_id }));
  }

  /** Whether the tenant owns a resource with this id (instance, volume, image) or has logs of it. */
  async ownsResource(tenantId: string, id: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM compute_instances WHERE id = $1 AND tenant_id = $2)
           OR EXISTS (SELECT 1 FROM compute_volumes WHERE id = $1 AND tenant_id = $2)
           OR EXISTS (SELECT 1 FROM compute_images WHERE id = $1 AND tenant_id = $2)
           OR EXISTS (SELECT 1 FROM compute_logs WHERE resource_id = $1 AND tenant_id = $2)
         AS found`,
      [id, tenantId],
    );
    return rows[0]?.found === true;
  }

  async logs(q: LogQuery): Promise<LogEntryView[]> {
    const params: unknown[] = [q.tenantId];
    const where: string[] = ['tenant_id = $1'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.resourceId) add('resource_id = ?::uuid', q.resourceId);
    if (q.resourceType) add('resource_type = ?', q.resourceType);
    if (q.level) add('level = ?', q.level);
    if (q.search) add("search @@ plainto_tsquery('simple', ?)", q.search);
    if (q.startTime) add('at >= ?::timestamptz', q.startTime);
    if (q.endTime) add('at <= ?::timestamptz', q.endTime);
    params.push(q.limit, q.offset);
    const { rows } = await this.pool.query<{
      id: string;
      resource_id: string;
      resource_type: string;
      level: string;
      source: string;
      message: string;
      at: Date;
    }>(
      `SELECT id, resource_id, resource_type, level, source, message, at FROM compute_logs
       WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC
       LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      resource_id: r.resource_id,
      resource_type: r.resource_type,
      level: r.level,
      source: r.source,
      message: r.message,
      timestamp: r.at.toISOString(),
    }));
  }
}

function mapEnvelope<T, V>(envelope: PageEnvelope<T>, fn: (row: T) => V): PageEnvelope<V> {
  return { items: envelope.items.map(fn), page: envelope.page };
}
