/**
 * The clusters context's resource families: what the audit log, the timeline and the event feed
 * know about Kubernetes clusters and their upgrades. Each `events` table names every event type of
 * its decider (the type system checks it). A cluster's control plane is billed in cluster-hours
 * from running until its delete starts (a failed repair leaves it failed, and still there).
 */
import { audited, notAudited, resourceKind } from '../platform/resources/resource-kind';
import { clusterDecider, upgradeDecider } from './domain';

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
    ClusterDeletionStarted: audited('CLUSTER_DELETE'),
    ClusterDeleted: notAudited(SAGA_RECORD),
  },
  billing: {
    meter: 'cluster-hours',
    resourceIdField: 'clusterId',
    events: {
      ClusterCreated: 'open',
      ClusterProvisioned: 'start',
      ClusterDeletionStarted: 'stop',
    },
  },
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

export const CLUSTER_RESOURCE_KINDS = [CLUSTERS, CLUSTER_UPGRADES];
