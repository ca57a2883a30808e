/**
 * The clusters context's resource families: what the audit log, the timeline and the event feed
 * know about Kubernetes clusters and their upgrades. Each `events` table names every event type of
 * its decider (the type system checks it). A cluster's control plane is billed in cluster-hours
 * from running until its delete starts (a failed repair leaves it failed, and still there). Its
 * worker nodes are billed in node-hours over the same span, the quantity being the worker count
 * of the last record of its nodes: ClusterProvisioned, then each ClusterOperationFinished (a scale
 * is billed at its new size from the moment it is recorded as done). Control-plane nodes are not
 * node-hours: the cluster-hour is their price (as EKS bills its control plane apart from the EC2
 * instances of its node groups).
 */
import { audited, notAudited, resourceKind } from '../platform/resources/resource-kind';
import { backupDecider, clusterDecider, upgradeDecider } from './domain';

const context = 'clusters';
const SAGA_RECORD = 'outcome recorded by a saga; the request that started it is audited';
const ROLLOUT_STEP = 'a step of the rollout (GET /clusters/:id/upgrade shows them all)';

export const CLUSTERS = resourceKind(clusterDecider, {
  context,
  family: 'cluster',
  readModel: 'clusters',
  actions: {
    CLUSTER_CREATE: 'A Kubernetes cluster was requested.',
    CLUSTER_FAIL: 'Provisioning a Kubernetes cluster failed.',
    CLUSTER_SCALE: 'A cluster was asked to change its number of workers.',
    CLUSTER_REPAIR: 'A cluster was asked to re-bootstrap its failed nodes.',
    CLUSTER_UPGRADE: 'A cluster upgrade was started.',
    CLUSTER_UPGRADE_FINISH: 'A cluster upgrade ended (succeeded, cancelled or failed).',
    CLUSTER_DELETE: 'A cluster was asked to be deleted.',
    CLUSTER_RESTORE: "A cluster's etcd was asked to be restored from a backup.",
    CLUSTER_RESTORE_FINISH: "A restore of a cluster's etcd ended (restored, or kept its data).",
  },
  events: {
    ClusterCreated: audited('CLUSTER_CREATE'),
    ClusterProvisioningStarted: notAudited(SAGA_RECORD),
    ClusterProvisioned: notAudited(SAGA_RECORD),
    ClusterFailed: audited('CLUSTER_FAIL', 'failure'),
    ClusterScaleRequested: audited('CLUSTER_SCALE'),
    ClusterRepairRequested: audited('CLUSTER_REPAIR'),
    ClusterOperationFinished: notAudited(SAGA_RECORD),
    ClusterUpgradeStarted: audited('CLUSTER_UPGRADE'),
    ClusterUpgradeFinished: audited('CLUSTER_UPGRADE_FINISH'),
    ClusterRestoreStarted: audited('CLUSTER_RESTORE'),
    ClusterRestoreFinished: audited('CLUSTER_RESTORE_FINISH'),
    ClusterDeletionStarted: audited('CLUSTER_DELETE'),
    ClusterDeleted: notAudited(SAGA_RECORD),
  },
  billing: [
    {
      meter: 'cluster-hours',
      resourceIdField: 'clusterId',
      events: {
        ClusterCreated: 'open',
        ClusterProvisioned: 'start',
        ClusterDeletionStarted: 'stop',
      },
    },
    {
      meter: 'node-hours',
      resourceIdField: 'clusterId',
      usageKey: 'nodes',
      events: {
        ClusterCreated: 'open',
        ClusterProvisioned: 'start',
        ClusterOperationFinished: 'quantity',
        ClusterDeletionStarted: 'stop',
      },
    },
  ],
});

export const CLUSTER_UPGRADES = resourceKind(upgradeDecider, {
  context,
  family: 'cluster_upgrade',
  readModel: null,
  actions: { CLUSTER_UPGRADE_CANCEL: 'A running cluster upgrade was asked to stop.' },
  events: {
    UpgradeStarted: notAudited('the cluster records CLUSTER_UPGRADE'),
    ControlPlaneUpgradeStarted: notAudited(ROLLOUT_STEP),
    ControlPlaneUpgraded: notAudited(ROLLOUT_STEP),
    ControlPlaneUpgradeFailed: notAudited(ROLLOUT_STEP),
    ControlPlaneRolledBack: notAudited(ROLLOUT_STEP),
    WorkerBatchStarted: notAudited(ROLLOUT_STEP),
    NodeCordonStarted: notAudited(ROLLOUT_STEP),
    NodeCordoned: notAudited(ROLLOUT_STEP),
    NodeDrainStarted: notAudited(ROLLOUT_STEP),
    NodeDrained: notAudited(ROLLOUT_STEP),
    NodeUpgradeStarted: notAudited(ROLLOUT_STEP),
    NodeUpgradeApplied: notAudited(ROLLOUT_STEP),
    NodeHealthy: notAudited(ROLLOUT_STEP),
    NodeFailed: notAudited(ROLLOUT_STEP),
    NodeSkipped: notAudited(ROLLOUT_STEP),
    NodeUncordoned: notAudited(ROLLOUT_STEP),
    UpgradeCancelRequested: audited('CLUSTER_UPGRADE_CANCEL'),
    UpgradeFinished: notAudited('the cluster records CLUSTER_UPGRADE_FINISH'),
  },
});

export const CLUSTER_BACKUPS = resourceKind(backupDecider, {
  context,
  family: 'cluster_backup',
  readModel: 'cluster_backups',
  actions: {
    CLUSTER_BACKUP_CREATE: "A backup of a cluster's etcd was requested.",
    CLUSTER_BACKUP_FAIL: "Taking a backup of a cluster's etcd failed.",
    CLUSTER_BACKUP_DELETE: 'A cluster backup was asked to be deleted.',
  },
  events: {
    ClusterBackupRequested: audited('CLUSTER_BACKUP_CREATE'),
    ClusterBackupCompleted: notAudited(SAGA_RECORD),
    ClusterBackupFailed: audited('CLUSTER_BACKUP_FAIL', 'failure'),
    ClusterBackupDeletionStarted: audited('CLUSTER_BACKUP_DELETE'),
    ClusterBackupDeleted: notAudited(SAGA_RECORD),
  },
});

export const CLUSTER_RESOURCE_KINDS = [CLUSTERS, CLUSTER_UPGRADES, CLUSTER_BACKUPS];
