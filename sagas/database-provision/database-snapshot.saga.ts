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
import type { CommandContext } from '../../src/kernel/command-context';
import type { DatabaseSagaPorts } from './saga-ports';
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

/** A delete's final snapshot is taken by that delete's saga, not by one of its own. */
const snapshotOfEvent = onStreamOf<SnapshotSagaInput>(
  DATABASE_SNAPSHOT_CATEGORY,
  (snapshotId, tenantId, event) =>
    (event.data as { final?: boolean }).final === true
      ? null
      : { sagaId: snapshotId, input: { snapshotId, tenantId } },
);

async function loadSnapshot(p: DatabaseSagaPorts, snapshotId: string): Promise<SnapshotState> {
  const { state, exists: found } = await p.executor.load(snapshotDecider, snapshotId);
  if (!found) throw new PermanentSagaError(`database snapshot ${snapshotId} does not exist`);
  return state;
}

/**
 * `pg_dump -Fc` of the snapshot's database into its file (`.partial`, fsynced, renamed); a repeat
 * that finds the file reads its size and SHA-256 instead of dumping again. The database must be
 * RUNNING, or DELETING for a delete's final snapshot (its engine stays until the dump is done).
 */
export async function dumpSnapshot(
  p: DatabaseSagaPorts,
  snapshotId: string,
): Promise<{ sizeBytes: number; sha256: string }> {
  const file = snapshotFile(p.snapshotDir, snapshotId);
  if (await exists(file)) return fileDigest(file);
  const snapshot = await loadSnapshot(p, snapshotId);
  if (snapshot.status !== 'creating') {
    throw new PermanentSagaError(`the snapshot is ${snapshot.status}`);
  }
  const databaseId = snapshot.databaseId as string;
  const { state: database } = await p.executor.load(databaseDecider, databaseId);
  const dumpable =
    database.status === 'RUNNING' || (snapshot.final && database.status === 'DELETING');
  if (!dumpable) throw new PermanentSagaError(`database ${databaseId} is ${database.status}`);
  return p.engine.dump(databaseId, DATABASE_MASTER_USER, snapshot.sqlDatabase as string, file);
}

/** Records a snapshot's failure (the reason given) after removing its file and a partial one. */
export async function recordSnapshotFailed(
  p: DatabaseSagaPorts,
  snapshotId: string,
  reason: string,
  ctx: CommandContext,
): Promise<void> {
  const file = snapshotFile(p.snapshotDir, snapshotId);
  await rm(`${file}.partial`, { force: true });
  await rm(file, { force: true });
  await p.executor.execute(
    snapshotDecider,
    snapshotId,
    { type: 'RecordSnapshotFailed', reason, now: new Date() },
    ctx,
    10,
  );
}

export async function recordSnapshotAvailable(
  p: DatabaseSagaPorts,
  snapshotId: string,
  { sizeBytes, sha256 }: { sizeBytes: number; sha256: string },
  ctx: CommandContext,
): Promise<void> {
  await p.executor.execute(
    snapshotDecider,
    snapshotId,
    { type: 'RecordSnapshotAvailable', sizeBytes, sha256, now: new Date() },
    ctx,
    10,
  );
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
          const reason = await lastStepFailure(p.store, saga, input.snapshotId, 'snapshot failed');
          await recordSnapshotFailed(
            p,
            input.snapshotId,
            reason,
            ctxOf(input, 'failed', correlationId),
          );
        },
      },
      {
        name: 'dump',
        execute: ({ input }) => dumpSnapshot(p, input.snapshotId),
      },
      {
        name: 'record_available',
        async execute({ input, correlationId, results }) {
          await recordSnapshotAvailable(
            p,
            input.snapshotId,
            results.dump as SnapshotResults['dump'],
            ctxOf(input, 'available', correlationId),
          );
          return null;
        },
      },
    ],
  });
}
