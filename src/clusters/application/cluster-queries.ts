import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import { fetchSize, paginate, type PageRequest } from '../../common/pagination';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { Found } from '../../platform/http/after-write';
import { PG_POOL } from '../../platform/tokens';
import {
  backupDecider,
  backupVisibleTo,
  clusterDecider,
  clusterVisibleTo,
  upgradeDecider,
  type BackupState,
  type ClusterState,
} from '../domain';
import { CLUSTER_DRIVER, type ClusterDriver } from '../ports/kubernetes';
import {
  backupView,
  clusterView,
  upgradeView,
  type BackupView,
  type ClusterView,
  type UpgradeView,
} from './views';

type CreatedKey = [string, string];

interface BackupRow {
  id: string;
  state: BackupState;
  revision: string;
  created_at: Date;
}

function checkCursor(after: unknown): asserts after is CreatedKey {
  const a = after;
  if (
    !Array.isArray(a) ||
    a.length !== 2 ||
    typeof a[0] !== 'string' ||
    Number.isNaN(Date.parse(a[0])) ||
    typeof a[1] !== 'string' ||
    !/^[0-9a-f-]{36}$/i.test(a[1])
  ) {
    throw AppError.validation('cursor is not valid', [
      { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
    ]);
  }
}

interface Row {
  id: string;
  state: ClusterState;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

const times = (row: Row) => ({
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export interface ClusterHealth {
  cluster_id: string;
  status: string;
  api_server: { reachable: boolean; version: string | null; error: string | null };
  /** The control plane's etcd; null when the driver runs none (no Docker). */
  etcd: {
    healthy: boolean;
    version: string | null;
    revision: number | null;
    db_size_bytes: number | null;
    data_dir: string | null;
    error: string | null;
  } | null;
  nodes_ready: number;
  nodes_total: number;
  nodes: Array<{
    name: string;
    role: string;
    ready: boolean;
    schedulable: boolean;
    kubelet_version: string | null;
  }>;
  healthy: boolean;
}

/**
 * Reads of clusters: the `clusters` read model for lists and GET, the cluster's stream for what
 * must not lag (its owner, before a command), the upgrade's stream for its progress, and the
 * driver for live health and the kubeconfig. Another tenant's cluster is 404.
 */
@Injectable()
export class ClusterQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly executor: CommandExecutor,
    @Inject(CLUSTER_DRIVER) private readonly driver: ClusterDriver,
  ) {}

  /** `includeDeleted`: a delete's own answer, when its teardown already finished. */
  async cluster(tenantId: string, id: string, includeDeleted = false): Promise<Found<ClusterView>> {
    const { rows } = await this.pool.query<Row>(
      `SELECT id, state, revision, created_at, updated_at FROM clusters
       WHERE id = $1 AND tenant_id = $2 AND ($3::boolean OR status <> 'deleted')`,
      [id, tenantId, includeDeleted],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound('cluster', id);
    return { view: clusterView(row.state, times(row)), revision: row.revision };
  }

  async clusters(tenantId: string, page: PageRequest<CreatedKey>) {
    const params: unknown[] = [tenantId];
    let after = '';
    if (page.after) {
      const a: unknown = page.after;
      checkCursor(a);
      params.push(a[0], a[1]);
      after = ' AND (created_at, id) > ($2::timestamptz, $3::uuid)';
    }
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<Row>(
      `SELECT id, state, revision, created_at, updated_at FROM clusters
       WHERE tenant_id = $1 AND status <> 'deleted'${after}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, (r): CreatedKey => [r.created_at.toISOString(), r.id]);
    const toView = (r: Row) => clusterView(r.state, times(r));
    return Array.isArray(result)
      ? result.map(toView)
      : { ...result, items: result.items.map(toView) };
  }

  /** The caller's cluster as its stream tells it (404 for another tenant's or a deleted one). */
  async owned(tenantId: string, id: string): Promise<ClusterState> {
    const { state } = await this.executor.load(clusterDecider, id);
    if (!clusterVisibleTo(state, tenantId)) throw AppError.notFound('cluster', id);
    return state;
  }

  /** The caller's backup of the caller's cluster as its stream tells it (404 otherwise). */
  async ownedBackup(tenantId: string, clusterId: string, backupId: string): Promise<BackupState> {
    const { state } = await this.executor.load(backupDecider, backupId);
    if (!backupVisibleTo(state, tenantId, clusterId)) {
      throw AppError.notFound('cluster_backup', backupId);
    }
    return state;
  }

  async backup(
    tenantId: string,
    clusterId: string,
    backupId: string,
    includeDeleted = false,
  ): Promise<Found<BackupView>> {
    await this.cluster(tenantId, clusterId);
    const { rows } = await this.pool.query<BackupRow>(
      `SELECT id, state, revision, created_at FROM cluster_backups
       WHERE id = $1 AND tenant_id = $2 AND cluster_id = $3 AND ($4::boolean OR status <> 'deleted')`,
      [backupId, tenantId, clusterId, includeDeleted],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound('cluster_backup', backupId);
    return { view: backupView(row.state), revision: row.revision };
  }

  async backups(tenantId: string, clusterId: string, page: PageRequest<CreatedKey>) {
    await this.cluster(tenantId, clusterId);
    const params: unknown[] = [tenantId, clusterId];
    let after = '';
    if (page.after) {
      const a: unknown = page.after;
      checkCursor(a);
      params.push(a[0], a[1]);
      after = ' AND (created_at, id) > ($3::timestamptz, $4::uuid)';
    }
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<BackupRow>(
      `SELECT id, state, revision, created_at FROM cluster_backups
       WHERE tenant_id = $1 AND cluster_id = $2 AND status <> 'deleted'${after}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, (r): CreatedKey => [r.created_at.toISOString(), r.id]);
    const toView = (r: BackupRow) => backupView(r.state);
    return Array.isArray(result)
      ? result.map(toView)
      : { ...result, items: result.items.map(toView) };
  }

  async upgrade(tenantId: string, clusterId: string): Promise<UpgradeView> {
    const cluster = await this.owned(tenantId, clusterId);
    if (!cluster.upgradeId) {
      throw new AppError('not_found', `cluster ${clusterId} has never been upgraded`, {
        resource: 'cluster_upgrade',
        cluster_id: clusterId,
      });
    }
    const { state, exists } = await this.executor.load(upgradeDecider, cluster.upgradeId);
    if (!exists && cluster.upgradeTarget) {
      // Recorded on the cluster, the rollout not started yet.
      return upgradeView({
        ...state,
        upgradeId: cluster.upgradeId,
        clusterId,
        fromVersion: cluster.version,
        toVersion: cluster.upgradeTarget.toVersion,
        options: cluster.upgradeTarget.options,
      });
    }
    return upgradeView(state);
  }

  async health(tenantId: string, clusterId: string): Promise<ClusterHealth> {
    const cluster = await this.owned(tenantId, clusterId);
    const etcdHealth = this.driver.etcd ? await this.driver.etcd.health(clusterId) : null;
    const etcd = etcdHealth && {
      healthy: etcdHealth.healthy,
      version: etcdHealth.version,
      revision: etcdHealth.revision,
      db_size_bytes: etcdHealth.dbSizeBytes,
      data_dir: etcdHealth.dataDir,
      error: etcdHealth.error?.slice(0, 300) ?? null,
    };
    const base = { cluster_id: clusterId, status: cluster.status, etcd };
    try {
      const api = await this.driver.api(clusterId);
      const [version, nodes] = await Promise.all([api.serverVersion(), api.listNodes()]);
      const ready = nodes.filter((n) => n.ready).length;
      return {
        ...base,
        api_server: { reachable: true, version, error: null },
        nodes_ready: ready,
        nodes_total: nodes.length,
        nodes: nodes.map((n) => ({
          name: n.name,
          role: n.role,
          ready: n.ready,
          schedulable: !n.unschedulable,
          kubelet_version: n.kubeletVersion,
        })),
        healthy: ready === nodes.length && nodes.length > 0 && (etcd?.healthy ?? true),
      };
    } catch (error) {
      return {
        ...base,
        api_server: {
          reachable: false,
          version: null,
          error: (error instanceof Error ? error.message : String(error)).slice(0, 300),
        },
        nodes_ready: 0,
        nodes_total: cluster.nodes.length,
        nodes: [],
        healthy: false,
      };
    }
  }

  async kubeconfig(tenantId: string, clusterId: string): Promise<string> {
    const cluster = await this.owned(tenantId, clusterId);
    if (
      !['running', 'scaling', 'repairing', 'upgrading', 'upgrade_failed', 'restoring'].includes(
        cluster.status,
      )
    ) {
      throw AppError.invalidState(`cluster ${clusterId} is ${cluster.status}; it has no API yet`, {
        resource: 'cluster',
        id: clusterId,
        status: cluster.status,
      });
    }
    try {
      return await this.driver.kubeconfig(clusterId);
    } catch (error) {
      throw new AppError(
        'service_unavailable',
        `the cluster's kubeconfig cannot be read now: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
