import { rm } from 'node:fs/promises';

import {
  DATABASE_MASTER_USER,
  DATABASE_SNAPSHOT_CATEGORY,
  databaseDecider,
  snapshotDecider,
  type SnapshotState,
} from '../../src/data/domain';
import {
  defineSaga,
  lastStepFailure,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
} from '../runtime/definition';
import type { DatabaseSagaPorts } from './database-provision.saga';
import { exists, fileDigest, snapshotFile } from './snapshot-files';

export const DATABASE_SNAPSHOT_SAGA = 'database_snapshot';

export interface SnapshotSagaInput {
  snapshotId: string;
  tenantId: string;
}

interface SnapshotResults extends Record<string, unknown> {
  begin: null;
  dump: { sizeBytes: number; sha256: string };
  record_available: null;
}

const snapshotOfEvent = onStreamOf<SnapshotSagaInput>(
  DATABASE_SNAPSHOT_CATEGORY,
  (snapshotId, tenantId) => ({ sagaId: snapshotId, input: { snapshotId, tenantId } }),
);

async function loadSnapshot(p: DatabaseSagaPorts, snapshotId: string): Promise<SnapshotState> {
  const { state, exists: found } = await p.executor.load(snapshotDecider, snapshotId);
  if (!found) throw new PermanentSagaError(`database snapshot ${snapshotId} does not exist`);
  return state;
}

/**
 * One snapshot (`saga_database_snapshot-<snapshotId>`), started once `DatabaseSnapshotStarted`
 * is recorded. Steps, each idempotent:
 *
 *   begin             nothing; its compensation records `failed` with the error and removes the
 *                     file (and a partial one)
 *   dump              `pg_dump -Fc` in the database's container, copied out to the snapshot's
 *                     file (`.partial`, fsynced, renamed); a repeat that finds the file reads its
 *                     size and SHA-256 instead of dumping again
 *   record_available  `available` with size and SHA-256
 */
export function databaseSnapshotSaga(p: DatabaseSagaPorts): SagaDefinition<SnapshotSagaInput> {
  const saga = DATABASE_SNAPSHOT_SAGA;
  const ctxOf = (input: SnapshotSagaInput, purpose: string, correlationId: string) =>
    sagaCommandContext(saga, input.snapshotId, purpose, {
      tenantId: input.tenantId,
      correlationId,
    });
  const fileOf = (snapshotId: string) => snapshotFile(p.snapshotDir, snapshotId);
  return defineSaga<SnapshotSagaInput, SnapshotResults>({
    name: saga,
    startedBy: { DatabaseSnapshotStarted: snapshotOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 5000 },
    stepTimeoutMs: 3_600_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const file = fileOf(input.snapshotId);
          await rm(`${file}.partial`, { force: true });
          await rm(file, { force: true });
          const reason = await lastStepFailure(p.store, saga, input.snapshotId, 'snapshot failed');
          await p.executor.execute(
            snapshotDecider,
            input.snapshotId,
            { type: 'RecordSnapshotFailed', reason, now: new Date() },
            ctxOf(input, 'failed', correlationId),
            10,
          );
        },
      },
      {
        name: 'dump',
        async execute({ input }) {
          const file = fileOf(input.snapshotId);
          if (await exists(file)) return fileDigest(file);
          const snapshot = await loadSnapshot(p, input.snapshotId);
          if (snapshot.status !== 'creating') {
            throw new PermanentSagaError(`the snapshot is ${snapshot.status}`);
          }
          const databaseId = snapshot.databaseId as string;
          const { state: database } = await p.executor.load(databaseDecider, databaseId);
          if (database.status !== 'RUNNING') {
            throw new PermanentSagaError(`database ${databaseId} is ${database.status}`);
          }
          return p.engine.dump(
            databaseId,
            DATABASE_MASTER_USER,
            snapshot.sqlDatabase as string,
            file,
          );
        },
      },
      {
        name: 'record_available',
        async execute({ input, correlationId, results }) {
          const { sizeBytes, sha256 } = results.dump as SnapshotResults['dump'];
          await p.executor.execute(
            snapshotDecider,
            input.snapshotId,
            { type: 'RecordSnapshotAvailable', sizeBytes, sha256, now: new Date() },
            ctxOf(input, 'available', correlationId),
            10,
          );
          return null;
        },
      },
    ],
  });
}
