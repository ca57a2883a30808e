import {
  controlPlaneCount,
  type BackupState,
  type ClusterState,
  type UpgradeState,
} from '../domain';
import { clusterArn } from '../domain/versions';

export interface RowTimes {
  createdAt: string;
  updatedAt: string;
}

export interface ClusterView {
  id: string;
  name: string;
  vpc_id: string;
  subnet_id: string | null;
  version: string;
  status: string;
  workers: number;
  ha: boolean;
  control_plane_nodes: number;
  endpoint: string | null;
  nodes: Array<{ name: string; role: string; version: string }>;
  failure_message: string | null;
  upgrade_id: string | null;
  last_upgrade_outcome: string | null;
  restore: { id: string; backup_id: string } | null;
  last_restore: { id: string; backup_id: string; error: string | null; finished_at: string } | null;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function clusterView(s: ClusterState, times: RowTimes): ClusterView {
  return {
    id: s.clusterId as string,
    name: s.name,
    vpc_id: s.vpcId as string,
    subnet_id: s.subnetId,
    version: s.version,
    status: s.status === 'none' ? 'pending' : s.status,
    workers: s.workers,
    ha: s.ha,
    control_plane_nodes: controlPlaneCount(s.ha),
    endpoint: s.endpoint,
    nodes: s.nodes.map((n) => ({ name: n.name, role: n.role, version: n.version })),
    failure_message: s.failureMessage,
    upgrade_id: s.upgradeId,
    last_upgrade_outcome: s.lastUpgradeOutcome,
    restore: s.restore ? { id: s.restore.id, backup_id: s.restore.backupId } : null,
    last_restore: s.lastRestore
      ? {
          id: s.lastRestore.id,
          backup_id: s.lastRestore.backupId,
          error: s.lastRestore.error,
          finished_at: s.lastRestore.at,
        }
      : null,
    arn: clusterArn(s.tenantId as string, s.clusterId as string),
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}

export interface UpgradeNodeView {
  name: string;
  stage: string;
  batch: number | null;
  cordoned: boolean;
  evicted_pods: number;
  forced_drain: boolean;
  kubelet_version: string | null;
  failure_reason: string | null;
  failure_message: string | null;
}

export interface UpgradeView {
  id: string;
  cluster_id: string;
  status: 'running' | 'finished';
  outcome: string | null;
  from_version: string;
  to_version: string;
  max_unavailable: number;
  max_failed_nodes: number;
  drain_timeout_seconds: number;
  health_timeout_seconds: number;
  force: boolean;
  cancel_requested: boolean;
  control_plane: { stage: string; nodes: string[]; error: string | null };
  nodes: UpgradeNodeView[];
  started_at: string | null;
  finished_at: string | null;
}

export function upgradeView(s: UpgradeState): UpgradeView {
  return {
    id: s.upgradeId as string,
    cluster_id: s.clusterId as string,
    status: s.status === 'finished' ? 'finished' : 'running',
    outcome: s.outcome,
    from_version: s.fromVersion,
    to_version: s.toVersion,
    max_unavailable: s.options.maxUnavailable,
    max_failed_nodes: s.options.maxFailedNodes,
    drain_timeout_seconds: s.options.drainTimeoutSeconds,
    health_timeout_seconds: s.options.healthTimeoutSeconds,
    force: s.options.force,
    cancel_requested: s.cancelRequested,
    control_plane: {
      stage: s.controlPlane.stage,
      nodes: s.controlPlane.nodes,
      error: s.controlPlane.error,
    },
    nodes: s.order.map((name) => {
      const n = s.nodes[name];
      return {
        name,
        stage: n.stage,
        batch: n.batch,
        cordoned: n.cordoned,
        evicted_pods: n.evicted,
        forced_drain: n.forced,
        kubelet_version: n.kubeletVersion,
        failure_reason: n.failure?.reason ?? null,
        failure_message: n.failure?.message ?? null,
      };
    }),
    started_at: s.startedAt,
    finished_at: s.finishedAt,
  };
}

export interface BackupView {
  id: string;
  cluster_id: string;
  status: string;
  size_bytes: number | null;
  sha256: string | null;
  revision: number | null;
  total_keys: number | null;
  duration_ms: number | null;
  failure_message: string | null;
  created_at: string;
  completed_at: string | null;
}

export function backupView(s: BackupState): BackupView {
  return {
    id: s.backupId as string,
    cluster_id: s.clusterId as string,
    status: s.status === 'none' ? 'creating' : s.status,
    size_bytes: s.snapshot?.sizeBytes ?? null,
    sha256: s.snapshot?.sha256 ?? null,
    revision: s.snapshot?.revision ?? null,
    total_keys: s.snapshot?.totalKeys ?? null,
    duration_ms: s.durationMs,
    failure_message: s.failureMessage,
    created_at: s.createdAt as string,
    completed_at: s.completedAt,
  };
}
