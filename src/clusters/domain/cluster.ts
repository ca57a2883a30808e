/**
 * The Kubernetes cluster aggregate (stream `cluster-<clusterId>`). Every long operation is
 * recorded before any effect and finished by a saga:
 *
 *   (create) -> pending -> provisioning -> running | failed
 *   running --scale--> scaling -> running
 *   running | upgrade_failed | failed --repair--> repairing -> running (| failed)
 *   running --upgrade--> upgrading -> running | upgrade_failed
 *   running --restore--> restoring -> running (a failed restore keeps etcd's previous data)
 *   any but upgrading/restoring/deleting/deleted --delete--> deleting -> deleted
 *
 * Saga records are idempotent and ignored once a delete has started, so a late saga never throws.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { isSupportedVersion, SUPPORTED_VERSIONS, upgradePathProblem } from './versions';

export const CLUSTER_CATEGORY = 'cluster';
export const MAX_WORKERS = 50;
const NAME_RE = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface ClusterNode {
  name: string;
  role: 'control-plane' | 'worker';
  version: string;
}

export interface UpgradeOptions {
  maxUnavailable: number;
  maxFailedNodes: number;
  drainTimeoutSeconds: number;
  healthTimeoutSeconds: number;
  force: boolean;
}

export type UpgradeOutcome = 'succeeded' | 'cancelled' | 'failed';

export interface CreateCluster {
  type: 'CreateCluster';
  clusterId: string;
  tenantId: string;
  name: unknown;
  vpcId: string;
  /** The subnet its nodes' NICs take addresses in; null where nodes have no NIC (no fabric). */
  subnetId: string | null;
  version: unknown;
  workers: unknown;
  ha: unknown;
  now: Date;
}
export interface RecordProvisioningStarted {
  type: 'RecordProvisioningStarted';
  now: Date;
}
export interface RecordProvisioned {
  type: 'RecordProvisioned';
  endpoint: string;
  nodes: ClusterNode[];
  now: Date;
}
export interface RecordClusterFailed {
  type: 'RecordClusterFailed';
  message: string;
  now: Date;
}
export interface DeleteCluster {
  type: 'DeleteCluster';
  now: Date;
}
export interface RecordClusterDeleted {
  type: 'RecordClusterDeleted';
  now: Date;
}
export interface ScaleCluster {
  type: 'ScaleCluster';
  operationId: string;
  workers: unknown;
  now: Date;
}
export interface RepairCluster {
  type: 'RepairCluster';
  operationId: string;
  now: Date;
}
export interface RecordOperationFinished {
  type: 'RecordOperationFinished';
  operationId: string;
  nodes: ClusterNode[];
  /** Nodes a repair re-bootstrapped. */
  repaired: string[];
  error: string | null;
  now: Date;
}
export interface StartUpgrade {
  type: 'StartUpgrade';
  upgradeId: string;
  version: unknown;
  options: UpgradeOptions;
  now: Date;
}
export interface RecordUpgradeFinished {
  type: 'RecordUpgradeFinished';
  upgradeId: string;
  outcome: UpgradeOutcome;
  /** The control plane's version once the upgrade ended. */
  version: string;
  nodes: ClusterNode[];
  message: string | null;
  now: Date;
}

export interface StartRestore {
  type: 'StartRestore';
  restoreId: string;
  backupId: string;
  now: Date;
}
export interface RecordRestoreFinished {
  type: 'RecordRestoreFinished';
  restoreId: string;
  /** null: etcd runs on the backup's data; else why not (it runs on its previous data). */
  error: string | null;
  now: Date;
}

export type ClusterCommand =
  | CreateCluster
  | RecordProvisioningStarted
  | RecordProvisioned
  | RecordClusterFailed
  | DeleteCluster
  | RecordClusterDeleted
  | ScaleCluster
  | RepairCluster
  | RecordOperationFinished
  | StartUpgrade
  | RecordUpgradeFinished
  | StartRestore
  | RecordRestoreFinished;

export type ClusterStatus =
  | 'pending'
  | 'provisioning'
  | 'running'
  | 'failed'
  | 'scaling'
  | 'repairing'
  | 'upgrading'
  | 'upgrade_failed'
  | 'restoring'
  | 'deleting'
  | 'deleted';

export type ClusterEvent =
  | {
      type: 'ClusterCreated';
      data: {
        clusterId: string;
        tenantId: string;
        name: string;
        vpcId: string;
        /** Absent on clusters created before placement in a subnet. */
        subnetId?: string | null;
        version: string;
        workers: number;
        ha: boolean;
        at: string;
      };
    }
  | { type: 'ClusterProvisioningStarted'; data: { clusterId: string; at: string } }
  | {
      type: 'ClusterProvisioned';
      data: { clusterId: string; endpoint: string; nodes: ClusterNode[]; at: string };
    }
  | { type: 'ClusterFailed'; data: { clusterId: string; message: string; at: string } }
  | {
      type: 'ClusterScaleRequested';
      data: { clusterId: string; operationId: string; from: number; workers: number; at: string };
    }
  | { type: 'ClusterRepairRequested'; data: { clusterId: string; operationId: string; at: string } }
  | {
      type: 'ClusterOperationFinished';
      data: {
        clusterId: string;
        operationId: string;
        kind: 'scale' | 'repair';
        nodes: ClusterNode[];
        repaired: string[];
        error: string | null;
        at: string;
      };
    }
  | {
      type: 'ClusterUpgradeStarted';
      data: {
        clusterId: string;
        upgradeId: string;
        fromVersion: string;
        toVersion: string;
        options: UpgradeOptions;
        at: string;
      };
    }
  | {
      type: 'ClusterUpgradeFinished';
      data: {
        clusterId: string;
        upgradeId: string;
        outcome: UpgradeOutcome;
        version: string;
        nodes: ClusterNode[];
        message: string | null;
        at: string;
      };
    }
  | {
      type: 'ClusterRestoreStarted';
      data: { clusterId: string; restoreId: string; backupId: string; at: string };
    }
  | {
      type: 'ClusterRestoreFinished';
      data: {
        clusterId: string;
        restoreId: string;
        backupId: string;
        error: string | null;
        at: string;
      };
    }
  | {
      type: 'ClusterDeletionStarted';
      data: { clusterId: string; previousStatus: ClusterStatus; at: string };
    }
  | { type: 'ClusterDeleted'; data: { clusterId: string; at: string } };

export interface ClusterState {
  status: 'none' | ClusterStatus;
  clusterId: string | null;
  tenantId: string | null;
  name: string;
  vpcId: string | null;
  subnetId: string | null;
  version: string;
  workers: number;
  ha: boolean;
  endpoint: string | null;
  nodes: ClusterNode[];
  failureMessage: string | null;
  operation: { kind: 'scale' | 'repair'; id: string } | null;
  /** The upgrade running now, or the last one. */
  upgradeId: string | null;
  /** What the upgrade running now was asked for. */
  upgradeTarget: { toVersion: string; options: UpgradeOptions } | null;
  lastUpgradeOutcome: UpgradeOutcome | null;
  /** The restore running now. */
  restore: { id: string; backupId: string } | null;
  /** The last restore that ended. */
  lastRestore: { id: string; backupId: string; error: string | null; at: string } | null;
  createdAt: string | null;
}

export function initialClusterState(): ClusterState {
  return {
    status: 'none',
    clusterId: null,
    tenantId: null,
    name: '',
    vpcId: null,
    subnetId: null,
    version: '',
    workers: 0,
    ha: false,
    endpoint: null,
    nodes: [],
    failureMessage: null,
    operation: null,
    upgradeId: null,
    upgradeTarget: null,
    lastUpgradeOutcome: null,
    restore: null,
    lastRestore: null,
    createdAt: null,
  };
}

/** Control-plane nodes of a cluster: three with `ha`, one without. */
export function controlPlaneCount(ha: boolean): number {
  return ha ? 3 : 1;
}

export function evolveCluster(state: ClusterState, event: ClusterEvent): ClusterState {
  switch (event.type) {
    case 'ClusterCreated': {
      const d = event.data;
      return {
        ...initialClusterState(),
        status: 'pending',
        clusterId: d.clusterId,
        tenantId: d.tenantId,
        name: d.name,
        vpcId: d.vpcId,
        subnetId: d.subnetId ?? null,
        version: d.version,
        workers: d.workers,
        ha: d.ha,
        createdAt: d.at,
      };
    }
    case 'ClusterProvisioningStarted':
      return { ...state, status: 'provisioning' };
    case 'ClusterProvisioned':
      return {
        ...state,
        status: 'running',
        endpoint: event.data.endpoint,
        nodes: event.data.nodes,
        failureMessage: null,
      };
    case 'ClusterFailed':
      return { ...state, status: 'failed', failureMessage: event.data.message };
    case 'ClusterScaleRequested':
      return {
        ...state,
        status: 'scaling',
        workers: event.data.workers,
        operation: { kind: 'scale', id: event.data.operationId },
      };
    case 'ClusterRepairRequested':
      return {
        ...state,
        status: 'repairing',
        operation: { kind: 'repair', id: event.data.operationId },
      };
    case 'ClusterOperationFinished': {
      const failedRepair = event.data.kind === 'repair' && event.data.error !== null;
      return {
        ...state,
        status: failedRepair ? 'failed' : 'running',
        nodes: event.data.nodes,
        workers: event.data.nodes.filter((n) => n.role === 'worker').length,
        operation: null,
        failureMessage: event.data.error,
      };
    }
    case 'ClusterUpgradeStarted':
      return {
        ...state,
        status: 'upgrading',
        upgradeId: event.data.upgradeId,
        upgradeTarget: { toVersion: event.data.toVersion, options: event.data.options },
      };
    case 'ClusterUpgradeFinished':
      return {
        ...state,
        status: event.data.outcome === 'failed' ? 'upgrade_failed' : 'running',
        version: event.data.version,
        nodes: event.data.nodes,
        upgradeTarget: null,
        lastUpgradeOutcome: event.data.outcome,
        failureMessage: event.data.message,
      };
    case 'ClusterRestoreStarted':
      return {
        ...state,
        status: 'restoring',
        restore: { id: event.data.restoreId, backupId: event.data.backupId },
      };
    case 'ClusterRestoreFinished':
      return {
        ...state,
        status: 'running',
        restore: null,
        lastRestore: {
          id: event.data.restoreId,
          backupId: event.data.backupId,
          error: event.data.error,
          at: event.data.at,
        },
      };
    case 'ClusterDeletionStarted':
      return { ...state, status: 'deleting' };
    case 'ClusterDeleted':
      return { ...state, status: 'deleted' };
    default:
      return assertUnreachable(event);
  }
}

interface FieldProblem {
  path: string;
  message: string;
}

function throwIfInvalid(problems: FieldProblem[]): void {
  if (problems.length === 0) return;
  throw AppError.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
}

function workersProblem(workers: unknown): FieldProblem[] {
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 0) {
    return [{ path: 'workers', message: 'must be an integer of at least 0' }];
  }
  if (workers > MAX_WORKERS)
    return [{ path: 'workers', message: `must be at most ${MAX_WORKERS}` }];
  return [];
}

function createProblems(c: CreateCluster): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (typeof c.name !== 'string' || !NAME_RE.test(c.name)) {
    problems.push({
      path: 'name',
      message: 'must be 1-63 lowercase letters, digits or hyphens, starting with a letter',
    });
  }
  if (!isSupportedVersion(c.version)) {
    problems.push({
      path: 'version',
      message: `is not a supported version (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
    });
  }
  problems.push(...workersProblem(c.workers));
  if (typeof c.ha !== 'boolean') problems.push({ path: 'ha', message: 'must be a boolean' });
  return problems;
}

function notFound(clusterId: string | null): AppError {
  return AppError.notFound('cluster', clusterId ?? 'unknown');
}

function requireStatus(state: ClusterState, allowed: ClusterStatus[], action: string): void {
  if (!allowed.includes(state.status as ClusterStatus)) {
    throw AppError.invalidState(
      `cluster ${state.clusterId} is ${state.status}; ${action} needs it ${allowed.join(' or ')}`,
      { resource: 'cluster', id: state.clusterId, status: state.status },
    );
  }
}

const LATE: ReadonlySet<string> = new Set(['deleting', 'deleted']);

export function decideCluster(command: ClusterCommand, state: ClusterState): ClusterEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateCluster') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `cluster ${command.clusterId} already exists`, {
        resource: 'cluster',
        id: command.clusterId,
      });
    }
    throwIfInvalid(createProblems(command));
    return [
      {
        type: 'ClusterCreated',
        data: {
          clusterId: command.clusterId,
          tenantId: command.tenantId,
          name: command.name as string,
          vpcId: command.vpcId,
          subnetId: command.subnetId,
          version: command.version as string,
          workers: command.workers as number,
          ha: command.ha as boolean,
          at,
        },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'deleted') {
    if (command.type === 'RecordClusterDeleted' && state.status === 'deleted') return [];
    throw notFound(state.clusterId);
  }
  const clusterId = state.clusterId as string;

  switch (command.type) {
    case 'RecordProvisioningStarted':
      if (state.status !== 'pending') return [];
      return [{ type: 'ClusterProvisioningStarted', data: { clusterId, at } }];
    case 'RecordProvisioned':
      if (state.status !== 'provisioning' && state.status !== 'pending') return [];
      return [
        {
          type: 'ClusterProvisioned',
          data: { clusterId, endpoint: command.endpoint, nodes: command.nodes, at },
        },
      ];
    case 'RecordClusterFailed':
      if (state.status !== 'provisioning' && state.status !== 'pending') return [];
      return [{ type: 'ClusterFailed', data: { clusterId, message: command.message, at } }];
    case 'DeleteCluster':
      if (LATE.has(state.status)) return [];
      requireStatus(
        state,
        ['pending', 'provisioning', 'running', 'failed', 'scaling', 'repairing', 'upgrade_failed'],
        'deleting',
      );
      return [
        {
          type: 'ClusterDeletionStarted',
          data: { clusterId, previousStatus: state.status, at },
        },
      ];
    case 'RecordClusterDeleted':
      requireStatus(state, ['deleting'], 'recording its deletion');
      return [{ type: 'ClusterDeleted', data: { clusterId, at } }];
    case 'ScaleCluster': {
      if (state.operation?.id === command.operationId) return [];
      requireStatus(state, ['running'], 'scaling');
      throwIfInvalid(workersProblem(command.workers));
      return [
        {
          type: 'ClusterScaleRequested',
          data: {
            clusterId,
            operationId: command.operationId,
            from: state.workers,
            workers: command.workers as number,
            at,
          },
        },
      ];
    }
    case 'RepairCluster':
      if (state.operation?.id === command.operationId) return [];
      requireStatus(state, ['running', 'upgrade_failed', 'failed'], 'a repair');
      return [
        {
          type: 'ClusterRepairRequested',
          data: { clusterId, operationId: command.operationId, at },
        },
      ];
    case 'RecordOperationFinished':
      if (LATE.has(state.status) || state.operation?.id !== command.operationId) return [];
      return [
        {
          type: 'ClusterOperationFinished',
          data: {
            clusterId,
            operationId: command.operationId,
            kind: state.operation.kind,
            nodes: command.nodes,
            repaired: command.repaired,
            error: command.error,
            at,
          },
        },
      ];
    case 'StartUpgrade': {
      if (state.upgradeId === command.upgradeId) return [];
      requireStatus(state, ['running'], 'an upgrade');
      if (!isSupportedVersion(command.version)) {
        throwIfInvalid([
          {
            path: 'version',
            message: `is not a supported version (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
          },
        ]);
      }
      const version = command.version as string;
      const problem = upgradePathProblem(state.version, version);
      if (problem) throwIfInvalid([{ path: 'version', message: problem }]);
      return [
        {
          type: 'ClusterUpgradeStarted',
          data: {
            clusterId,
            upgradeId: command.upgradeId,
            fromVersion: state.version,
            toVersion: version,
            options: command.options,
            at,
          },
        },
      ];
    }
    case 'RecordUpgradeFinished':
      if (state.status !== 'upgrading' || state.upgradeId !== command.upgradeId) return [];
      return [
        {
          type: 'ClusterUpgradeFinished',
          data: {
            clusterId,
            upgradeId: command.upgradeId,
            outcome: command.outcome,
            version: command.version,
            nodes: command.nodes,
            message: command.message,
            at,
          },
        },
      ];
    case 'StartRestore':
      if (state.restore?.id === command.restoreId) return [];
      requireStatus(state, ['running'], 'a restore');
      return [
        {
          type: 'ClusterRestoreStarted',
          data: { clusterId, restoreId: command.restoreId, backupId: command.backupId, at },
        },
      ];
    case 'RecordRestoreFinished':
      if (state.status !== 'restoring' || state.restore?.id !== command.restoreId) return [];
      return [
        {
          type: 'ClusterRestoreFinished',
          data: {
            clusterId,
            restoreId: command.restoreId,
            backupId: state.restore.backupId,
            error: command.error,
            at,
          },
        },
      ];
    default:
      return assertUnreachable(command);
  }
}

export const clusterDecider: Decider<ClusterCommand, ClusterEvent, ClusterState> = {
  category: CLUSTER_CATEGORY,
  initialState: initialClusterState,
  evolve: evolveCluster,
  decide: decideCluster,
};

/** Another tenant's cluster, or a deleted one, is 404 to the caller. */
export function clusterVisibleTo(state: ClusterState, tenantId: string): boolean {
  return state.status !== 'none' && state.status !== 'deleted' && state.tenantId === tenantId;
}
