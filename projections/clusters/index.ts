/**
 * The clusters read model: one row per cluster, folded with the domain's own `evolve` (the read
 * model never disagrees with the aggregate), the full state as jsonb and the columns lists filter
 * on derived from it. Upgrade progress is read from the upgrade's own stream, not from here.
 */
import {
  CLUSTER_BACKUP_CATEGORY,
  evolveBackup,
  initialBackupState,
  type BackupEvent,
  type BackupState,
} from '../../src/clusters/domain/backup';
import {
  CLUSTER_CATEGORY,
  evolveCluster,
  initialClusterState,
  type ClusterEvent,
  type ClusterState,
} from '../../src/clusters/domain/cluster';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const CLUSTERS_PROJECTION = 'clusters.clusters';

export const CLUSTER_EVENT_TYPES: readonly ClusterEvent['type'][] = [
  'ClusterCreated',
  'ClusterProvisioningStarted',
  'ClusterProvisioned',
  'ClusterFailed',
  'ClusterScaleRequested',
  'ClusterRepairRequested',
  'ClusterOperationFinished',
  'ClusterUpgradeStarted',
  'ClusterUpgradeFinished',
  'ClusterRestoreStarted',
  'ClusterRestoreFinished',
  'ClusterDeletionStarted',
  'ClusterDeleted',
];

export const clustersProjection = defineProjection({
  name: CLUSTERS_PROJECTION,
  version: 2,
  eventTypes: CLUSTER_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS clusters (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      status text NOT NULL,
      vpc_id uuid NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS clusters_tenant ON clusters (tenant_id, created_at, id)',
    );
    await m.query('CREATE INDEX IF NOT EXISTS clusters_vpc ON clusters (vpc_id)');
  },
  async reset(m) {
    await m.query('TRUNCATE clusters');
  },
  async apply(events, manager) {
    await foldInto<ClusterState>(
      events,
      manager,
      'clusters',
      (e) => idInStream(CLUSTER_CATEGORY, e.streamId),
      initialClusterState,
      (s, e) => evolveCluster(s, { type: e.type, data: e.data } as ClusterEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO clusters (id, tenant_id, status, vpc_id, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [id, s.tenantId, s.status, s.vpcId, JSON.stringify(s), revision, createdAt, updatedAt],
        );
      },
    );
  },
});

export const CLUSTER_BACKUPS_PROJECTION = 'clusters.backups';

export const CLUSTER_BACKUP_EVENT_TYPES: readonly BackupEvent['type'][] = [
  'ClusterBackupRequested',
  'ClusterBackupCompleted',
  'ClusterBackupFailed',
  'ClusterBackupDeletionStarted',
  'ClusterBackupDeleted',
];

/** The `cluster_backups` read model: one row per backup, listed per cluster. */
export const clusterBackupsProjection = defineProjection({
  name: CLUSTER_BACKUPS_PROJECTION,
  version: 1,
  eventTypes: CLUSTER_BACKUP_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS cluster_backups (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      cluster_id uuid NOT NULL,
      status text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS cluster_backups_cluster ON cluster_backups (cluster_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE cluster_backups');
  },
  async apply(events, manager) {
    await foldInto<BackupState>(
      events,
      manager,
      'cluster_backups',
      (e) => idInStream(CLUSTER_BACKUP_CATEGORY, e.streamId),
      initialBackupState,
      (s, e) => evolveBackup(s, { type: e.type, data: e.data } as BackupEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO cluster_backups (id, tenant_id, cluster_id, status, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.clusterId,
            s.status,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const CLUSTER_PROJECTIONS = [clustersProjection, clusterBackupsProjection];
