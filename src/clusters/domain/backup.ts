/**
 * One etcd backup of a cluster (stream `cluster-backup-<backupId>`): a snapshot of the cluster's
 * etcd (`etcdctl snapshot save`), kept beside its control plane until deleted.
 *
 *   (request) -> creating -> available | failed
 *   available | failed --delete--> deleting -> deleted
 *
 * A restore reads an `available` backup; the restore itself is recorded on the cluster.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';

export const CLUSTER_BACKUP_CATEGORY = 'cluster-backup';

/** What the snapshot holds, measured when it was taken. */
export interface SnapshotFacts {
  sizeBytes: number;
  sha256: string;
  /** etcd's revision the snapshot is of. */
  revision: number;
  /** Keys in the snapshot (etcd's own included). */
  totalKeys: number;
  /** SHA-256 of the cluster's keys and values at `revision`: a restore is checked against it. */
  contentSha256: string;
}

export interface RequestBackup {
  type: 'RequestBackup';
  backupId: string;
  clusterId: string;
  tenantId: string;
  now: Date;
}
export interface RecordBackupCompleted {
  type: 'RecordBackupCompleted';
  snapshot: SnapshotFacts;
  durationMs: number;
  now: Date;
}
export interface RecordBackupFailed {
  type: 'RecordBackupFailed';
  message: string;
  now: Date;
}
export interface DeleteBackup {
  type: 'DeleteBackup';
  now: Date;
}
export interface RecordBackupDeleted {
  type: 'RecordBackupDeleted';
  now: Date;
}

export type BackupCommand =
  RequestBackup | RecordBackupCompleted | RecordBackupFailed | DeleteBackup | RecordBackupDeleted;

export type BackupStatus = 'creating' | 'available' | 'failed' | 'deleting' | 'deleted';

export type BackupEvent =
  | {
      type: 'ClusterBackupRequested';
      data: { backupId: string; clusterId: string; tenantId: string; at: string };
    }
  | {
      type: 'ClusterBackupCompleted';
      data: {
        backupId: string;
        clusterId: string;
        snapshot: SnapshotFacts;
        durationMs: number;
        at: string;
      };
    }
  | {
      type: 'ClusterBackupFailed';
      data: { backupId: string; clusterId: string; message: string; at: string };
    }
  | {
      type: 'ClusterBackupDeletionStarted';
      data: { backupId: string; clusterId: string; at: string };
    }
  | { type: 'ClusterBackupDeleted'; data: { backupId: string; clusterId: string; at: string } };

export interface BackupState {
  status: 'none' | BackupStatus;
  backupId: string | null;
  clusterId: string | null;
  tenantId: string | null;
  snapshot: SnapshotFacts | null;
  durationMs: number | null;
  failureMessage: string | null;
  createdAt: string | null;
  completedAt: string | null;
}

export function initialBackupState(): BackupState {
  return {
    status: 'none',
    backupId: null,
    clusterId: null,
    tenantId: null,
    snapshot: null,
    durationMs: null,
    failureMessage: null,
    createdAt: null,
    completedAt: null,
  };
}

export function evolveBackup(state: BackupState, event: BackupEvent): BackupState {
  switch (event.type) {
    case 'ClusterBackupRequested':
      return {
        ...initialBackupState(),
        status: 'creating',
        backupId: event.data.backupId,
        clusterId: event.data.clusterId,
        tenantId: event.data.tenantId,
        createdAt: event.data.at,
      };
    case 'ClusterBackupCompleted':
      return {
        ...state,
        status: 'available',
        snapshot: event.data.snapshot,
        durationMs: event.data.durationMs,
        completedAt: event.data.at,
      };
    case 'ClusterBackupFailed':
      return {
        ...state,
        status: 'failed',
        failureMessage: event.data.message,
        completedAt: event.data.at,
      };
    case 'ClusterBackupDeletionStarted':
      return { ...state, status: 'deleting' };
    case 'ClusterBackupDeleted':
      return { ...state, status: 'deleted' };
    default:
      return assertUnreachable(event);
  }
}

function notFound(backupId: string | null): AppError {
  return AppError.notFound('cluster_backup', backupId ?? 'unknown');
}

export function decideBackup(command: BackupCommand, state: BackupState): BackupEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'RequestBackup') {
    if (state.status !== 'none') return [];
    return [
      {
        type: 'ClusterBackupRequested',
        data: {
          backupId: command.backupId,
          clusterId: command.clusterId,
          tenantId: command.tenantId,
          at,
        },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'deleted') {
    if (command.type === 'RecordBackupDeleted' && state.status === 'deleted') return [];
    throw notFound(state.backupId);
  }
  const backupId = state.backupId as string;
  const clusterId = state.clusterId as string;
  switch (command.type) {
    case 'RecordBackupCompleted':
      if (state.status !== 'creating') return [];
      return [
        {
          type: 'ClusterBackupCompleted',
          data: {
            backupId,
            clusterId,
            snapshot: command.snapshot,
            durationMs: command.durationMs,
            at,
          },
        },
      ];
    case 'RecordBackupFailed':
      if (state.status !== 'creating') return [];
      return [
        {
          type: 'ClusterBackupFailed',
          data: { backupId, clusterId, message: command.message, at },
        },
      ];
    case 'DeleteBackup':
      if (state.status === 'deleting') return [];
      if (state.status === 'creating') {
        throw AppError.invalidState(
          `backup ${backupId} is being taken; it can be deleted once available or failed`,
          { resource: 'cluster_backup', id: backupId, status: state.status },
        );
      }
      return [{ type: 'ClusterBackupDeletionStarted', data: { backupId, clusterId, at } }];
    case 'RecordBackupDeleted':
      if (state.status !== 'deleting') {
        throw AppError.invalidState(`backup ${backupId} is ${state.status}, not deleting`, {
          resource: 'cluster_backup',
          id: backupId,
          status: state.status,
        });
      }
      return [{ type: 'ClusterBackupDeleted', data: { backupId, clusterId, at } }];
    default:
      return assertUnreachable(command);
  }
}

export const backupDecider: Decider<BackupCommand, BackupEvent, BackupState> = {
  category: CLUSTER_BACKUP_CATEGORY,
  initialState: initialBackupState,
  evolve: evolveBackup,
  decide: decideBackup,
};

/** Another tenant's backup, one of another cluster, or a deleted one, is 404 to the caller. */
export function backupVisibleTo(state: BackupState, tenantId: string, clusterId: string): boolean {
  return (
    state.status !== 'none' &&
    state.status !== 'deleted' &&
    state.tenantId === tenantId &&
    state.clusterId === clusterId
  );
}
