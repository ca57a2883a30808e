import { AppError } from '../../src/common/errors/app-error';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import {
  backupDecider,
  CLUSTER_BACKUP_CATEGORY,
  type BackupCommand,
  type BackupState,
} from '../../src/clusters/domain/backup';
import { CLUSTER_CATEGORY } from '../../src/clusters/domain/cluster';
import type { ClusterDriver, ControlPlaneEtcd } from '../../src/clusters/ports/kubernetes';
import {
  defineSaga,
  lastStepFailure,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
} from '../runtime/definition';
import { loadCluster, recordCluster } from '../cluster-lifecycle/cluster-lifecycle.saga';

export const CLUSTER_BACKUP_SAGA = 'cluster_backup';
export const CLUSTER_BACKUP_DELETE_SAGA = 'cluster_backup_delete';
export const CLUSTER_RESTORE_SAGA = 'cluster_restore';

export interface BackupSagaInput {
  backupId: string;
  clusterId: string;
  tenantId: string;
}

export interface RestoreSagaInput {
  restoreId: string;
  backupId: string;
  clusterId: string;
  tenantId: string;
}

/** What the backup and restore sagas need; the clusters module provides them. */
export interface ClusterBackupPorts {
  executor: CommandExecutor;
  store: EventStore;
  driver: ClusterDriver;
}

const backupOfEvent = onStreamOf<BackupSagaInput>(
  CLUSTER_BACKUP_CATEGORY,
  (backupId, tenantId, event) => {
    const { clusterId } = event.data as { clusterId: string };
    return { sagaId: backupId, input: { backupId, clusterId, tenantId } };
  },
);

const restoreOfEvent = onStreamOf<RestoreSagaInput>(
  CLUSTER_CATEGORY,
  (clusterId, tenantId, event) => {
    const { restoreId, backupId } = event.data as { restoreId: string; backupId: string };
    return { sagaId: restoreId, input: { restoreId, backupId, clusterId, tenantId } };
  },
);

function etcdOf(driver: ClusterDriver): ControlPlaneEtcd {
  if (!driver.etcd) throw new PermanentSagaError('this installation runs no etcd (no Docker)');
  return driver.etcd;
}

async function loadBackup(executor: CommandExecutor, backupId: string): Promise<BackupState> {
  const { state, exists } = await executor.load(backupDecider, backupId);
  if (!exists) throw new PermanentSagaError(`backup ${backupId} does not exist`);
  return state;
}

async function recordBackup(
  executor: CommandExecutor,
  saga: string,
  input: BackupSagaInput,
  purpose: string,
  correlationId: string,
  command: BackupCommand,
): Promise<BackupState> {
  const { state } = await executor.execute(
    backupDecider,
    input.backupId,
    command,
    sagaCommandContext(saga, input.backupId, purpose, {
      tenantId: input.tenantId,
      correlationId,
    }),
    10,
  );
  return state;
}

interface BackupResults extends Record<string, unknown> {
  begin: null;
  snapshot: { sizeBytes: number; durationMs: number };
}

/**
 * One backup (`saga_cluster_backup-<backupId>`): `etcdctl snapshot save` in the cluster's etcd
 * container, then `available` with the file's size, sha256, etcd revision and a digest of the
 * cluster's content at that revision. A failure removes a partial snapshot and records `failed`.
 */
export function clusterBackupSaga(p: ClusterBackupPorts): SagaDefinition<BackupSagaInput> {
  const saga = CLUSTER_BACKUP_SAGA;
  return defineSaga<BackupSagaInput, BackupResults>({
    name: saga,
    startedBy: { ClusterBackupRequested: backupOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5_000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 10 * 60_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          await recordBackup(p.executor, saga, input, 'failed', correlationId, {
            type: 'RecordBackupFailed',
            message: await lastStepFailure(p.store, saga, input.backupId, 'the backup failed'),
            now: new Date(),
          });
        },
      },
      {
        name: 'snapshot',
        async execute({ input, correlationId }) {
          const backup = await loadBackup(p.executor, input.backupId);
          if (backup.status !== 'creating') {
            throw new PermanentSagaError(`the backup is ${backup.status}; not taken`);
          }
          const cluster = await loadCluster(p.executor, input.clusterId);
          if (cluster.status === 'deleting' || cluster.status === 'deleted') {
            throw new PermanentSagaError(`the cluster is ${cluster.status}`);
          }
          const started = Date.now();
          const facts = await etcdOf(p.driver).snapshot(input.clusterId, input.backupId);
          const durationMs = Date.now() - started;
          await recordBackup(p.executor, saga, input, 'available', correlationId, {
            type: 'RecordBackupCompleted',
            snapshot: facts,
            durationMs,
            now: new Date(),
          });
          return { sizeBytes: facts.sizeBytes, durationMs };
        },
        async compensate({ input }) {
          await etcdOf(p.driver).removeSnapshot(input.clusterId, input.backupId);
        },
      },
    ],
  });
}

interface BackupDeleteResults extends Record<string, unknown> {
  remove_snapshot: null;
  record_deleted: null;
}

/** Deleting a backup (`saga_cluster_backup_delete-<backupId>`): the file, then `deleted`. */
export function clusterBackupDeleteSaga(p: ClusterBackupPorts): SagaDefinition<BackupSagaInput> {
  const saga = CLUSTER_BACKUP_DELETE_SAGA;
  return defineSaga<BackupSagaInput, BackupDeleteResults>({
    name: saga,
    startedBy: { ClusterBackupDeletionStarted: backupOfEvent },
    retry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 5 * 60_000,
    steps: [
      {
        name: 'remove_snapshot',
        async execute({ input }) {
          if (p.driver.etcd) await p.driver.etcd.removeSnapshot(input.clusterId, input.backupId);
          return null;
        },
      },
      {
        name: 'record_deleted',
        async execute({ input, correlationId }) {
          await recordBackup(p.executor, saga, input, 'deleted', correlationId, {
            type: 'RecordBackupDeleted',
            now: new Date(),
          }).catch((error: unknown) => {
            if (error instanceof AppError && error.code === 'not_found') return null;
            throw error;
          });
          return null;
        },
      },
    ],
  });
}

interface RestoreResults extends Record<string, unknown> {
  begin: null;
  prepare: { previous: string; target: string };
  switch_data: null;
  verify: { revision: number };
  finish: null;
}

function stillRestoring(
  state: Awaited<ReturnType<typeof loadCluster>>,
  input: RestoreSagaInput,
): void {
  if (state.status !== 'restoring' || state.restore?.id !== input.restoreId) {
    throw new PermanentSagaError(`the cluster is ${state.status}; the restore stopped`);
  }
}

/**
 * A restore of the cluster's etcd (`saga_cluster_restore-<restoreId>`), recorded `restoring` on
 * the cluster first: the snapshot's sha256 checked and `etcdctl snapshot restore` into a fresh
 * data directory (`restore-<restoreId>`; etcd keeps serving meanwhile), etcd stopped, pointed at
 * it and started, then verified: healthy, at the backup's revision, holding its content. Any
 * failure points etcd back at its previous data directory (undoing the switch), removes the fresh
 * one and records the restore finished with the error; the cluster is `running` either way.
 */
export function clusterRestoreSaga(p: ClusterBackupPorts): SagaDefinition<RestoreSagaInput> {
  const saga = CLUSTER_RESTORE_SAGA;
  const record = (input: RestoreSagaInput, correlationId: string, error: string | null) =>
    recordCluster(
      p.executor,
      saga,
      input,
      `${error ? 'failed' : 'done'}/${input.restoreId}`,
      correlationId,
      { type: 'RecordRestoreFinished', restoreId: input.restoreId, error, now: new Date() },
    );
  return defineSaga<RestoreSagaInput, RestoreResults>({
    name: saga,
    startedBy: { ClusterRestoreStarted: restoreOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5_000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 10 * 60_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          await record(
            input,
            correlationId,
            await lastStepFailure(p.store, saga, input.restoreId, 'the restore failed'),
          );
        },
      },
      {
        name: 'prepare',
        async execute({ input }) {
          stillRestoring(await loadCluster(p.executor, input.clusterId), input);
          const backup = await loadBackup(p.executor, input.backupId);
          if (backup.status !== 'available' || !backup.snapshot) {
            throw new PermanentSagaError(`backup ${input.backupId} is ${backup.status}`);
          }
          const etcd = etcdOf(p.driver);
          const target = `restore-${input.restoreId}`;
          const previous = await etcd.currentDataDir(input.clusterId);
          await etcd.restoreInto(input.clusterId, input.backupId, backup.snapshot, target);
          return { previous, target };
        },
        async compensate({ input, results }) {
          const target = results.prepare?.target ?? `restore-${input.restoreId}`;
          await etcdOf(p.driver).discardDataDir(input.clusterId, target);
        },
      },
      {
        name: 'switch_data',
        async execute({ input, results }) {
          await etcdOf(p.driver).switchTo(input.clusterId, results.prepare?.target as string);
          return null;
        },
        async compensate({ input, results }) {
          await etcdOf(p.driver).switchTo(input.clusterId, results.prepare?.previous as string);
        },
      },
      {
        name: 'verify',
        async execute({ input }) {
          const backup = await loadBackup(p.executor, input.backupId);
          const snapshot = backup.snapshot;
          if (!snapshot) throw new PermanentSagaError(`backup ${input.backupId} has no snapshot`);
          try {
            await etcdOf(p.driver).verify(input.clusterId, snapshot);
          } catch (error) {
            throw new PermanentSagaError(error instanceof Error ? error.message : String(error));
          }
          return { revision: snapshot.revision };
        },
      },
      {
        name: 'finish',
        async execute({ input, results, correlationId }) {
          const previous = results.prepare?.previous as string;
          // The previous data is kept only until the restored one is known good.
          await etcdOf(p.driver)
            .discardDataDir(input.clusterId, previous)
            .catch(() => undefined);
          await record(input, correlationId, null);
          return null;
        },
      },
    ],
  });
}
