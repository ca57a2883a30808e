import {
  DATABASE_MASTER_USER,
  PARAMETER_RULES,
  databaseDecider,
  snapshotDecider,
  sqlDatabaseNameOf,
  type DatabaseCommand,
  type DatabaseState,
} from '../../src/data/domain';
import {
  databaseSecretName,
  newEnginePassword,
  replicationSecretName,
  replicationSlotName,
} from '../../src/data/ports/credentials';
import {
  defineSaga,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
  lastStepFailure,
} from '../runtime/definition';
import type { DatabaseSagaPorts } from './saga-ports';
import { engineTeardownSaga } from '../engine-teardown/engine-teardown.saga';
import { fileDigest, snapshotFile } from './snapshot-files';
import {
  dumpSnapshot,
  recordSnapshotAvailable,
  recordSnapshotFailed,
} from './database-snapshot.saga';
import { DATABASE_CATEGORY } from '../../src/data/domain/database';

export const DATABASE_PROVISION_SAGA = 'database_provision';
export const DATABASE_DELETE_SAGA = 'database_delete';

export interface DatabaseSagaInput {
  databaseId: string;
  tenantId: string;
}

/** The database an event of its stream concerns: the saga instance it starts. */
const databaseOfEvent = onStreamOf<DatabaseSagaInput>(
  DATABASE_CATEGORY,
  (databaseId, tenantId) => ({
    sagaId: databaseId,
    input: { databaseId, tenantId },
  }),
);

export type { DatabaseSagaPorts } from './saga-ports';

interface Address extends Record<string, unknown> {
  host: string;
  port: number;
}

interface ProvisionResults extends Record<string, unknown> {
  begin: null;
  credentials: { secretName: string };
  server: Address;
  ready: null;
  restore: null;
  parameters: null;
  pooler: { poolerPort: number | null };
  exporter: { metricsPort: number | null };
  record_running: null;
}

async function loadDatabase(p: DatabaseSagaPorts, databaseId: string): Promise<DatabaseState> {
  const { state, exists } = await p.executor.load(databaseDecider, databaseId);
  if (!exists) throw new PermanentSagaError(`database ${databaseId} does not exist`);
  return state;
}

function requireCreating(state: DatabaseState): void {
  if (state.status !== 'CREATING' && state.status !== 'RUNNING') {
    throw new PermanentSagaError(`the database is ${state.status}; provisioning stopped`);
  }
}

async function passwordOf(p: DatabaseSagaPorts, input: DatabaseSagaInput): Promise<string> {
  const password = await p.secrets.reveal(input.tenantId, databaseSecretName(input.databaseId));
  if (password === null) throw new Error('the database password is not in the secrets store yet');
  return password;
}

async function record(
  p: DatabaseSagaPorts,
  saga: string,
  input: DatabaseSagaInput,
  purpose: string,
  correlationId: string,
  command: DatabaseCommand,
): Promise<DatabaseState> {
  const ctx = sagaCommandContext(saga, input.databaseId, purpose, {
    tenantId: input.tenantId,
    correlationId,
  });
  return (await p.executor.execute(databaseDecider, input.databaseId, command, ctx, 10)).state;
}

/**
 * Provisioning of one database (`saga_database_provision-<databaseId>`), started by the create
 * handler once `DatabaseCreated` (CREATING) is recorded. Steps, each idempotent:
 *
 *   begin           nothing; its compensation (the last to run) records FAILED with the error
 *   credentials     the owner's password in the secrets store (kept when a repeat finds it)
 *   server          data volume and server container (initdb on first start), created if absent
 *   ready           the owner logs in with the password on 127.0.0.1:<port>
 *   restore         a restore only: the snapshot's file, its SHA-256 checked against the recorded
 *                   one, loaded by pg_restore --clean --if-exists (a repeat loads it again)
 *   parameters      ALTER SYSTEM for the requested parameters; reload, or restart when one needs it
 *   pooler          pgbouncer beside it when pooling is on
 *   record_running  RUNNING with its endpoint; a delete that started meanwhile undoes it all
 */
export function databaseProvisionSaga(p: DatabaseSagaPorts): SagaDefinition<DatabaseSagaInput> {
  const saga = DATABASE_PROVISION_SAGA;
  return defineSaga<DatabaseSagaInput, ProvisionResults>({
    name: saga,
    startedBy: { DatabaseCreated: databaseOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 5000 },
    // A first start may build the engine image (minutes) in the server step.
    stepTimeoutMs: 900_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const reason = await lastStepFailure(
            p.store,
            DATABASE_PROVISION_SAGA,
            input.databaseId,
            'provisioning failed',
          );
          await record(p, saga, input, 'failed', correlationId, {
            type: 'RecordDatabaseFailed',
            reason,
            now: new Date(),
          });
        },
      },
      {
        name: 'credentials',
        async execute({ input, correlationId }) {
          requireCreating(await loadDatabase(p, input.databaseId));
          const secretName = databaseSecretName(input.databaseId);
          if ((await p.secrets.reveal(input.tenantId, secretName)) === null) {
            await p.secrets.put(
              {
                tenantId: input.tenantId,
                name: secretName,
                value: newEnginePassword(),
                owner: { kind: 'database', id: input.databaseId },
                description: `password of database ${input.databaseId} (user ${DATABASE_MASTER_USER})`,
              },
              sagaCommandContext(saga, input.databaseId, 'store_password', {
                tenantId: input.tenantId,
                correlationId,
              }),
            );
          }
          return { secretName };
        },
        async compensate({ input, correlationId }) {
          await p.secrets.remove(
            input.tenantId,
            databaseSecretName(input.databaseId),
            sagaCommandContext(saga, input.databaseId, 'remove_password', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
        },
      },
      {
        name: 'server',
        async execute({ input }) {
          const db = await loadDatabase(p, input.databaseId);
          requireCreating(db);
          const version = db.version as string;
          try {
            await p.images.ensure(p.engine.image(version));
          } catch (error) {
            throw new PermanentSagaError(error instanceof Error ? error.message : String(error));
          }
          const address = await p.engine.ensurePrimary({
            databaseId: input.databaseId,
            tenantId: input.tenantId,
            version,
            user: DATABASE_MASTER_USER,
            dbName: sqlDatabaseNameOf(db.name as string),
            password: await passwordOf(p, input),
          });
          return { host: address.host, port: address.port };
        },
        async compensate({ input }) {
          await p.engine.remove(input.databaseId);
        },
      },
      {
        name: 'ready',
        async execute({ input, results, signal }) {
          const db = await loadDatabase(p, input.databaseId);
          await p.engine.waitReady(
            results.server as Address,
            {
              user: DATABASE_MASTER_USER,
              password: await passwordOf(p, input),
              dbName: sqlDatabaseNameOf(db.name as string),
            },
            signal,
          );
          return null;
        },
      },
      {
        name: 'restore',
        async execute({ input }) {
          const db = await loadDatabase(p, input.databaseId);
          const snapshotId = db.sourceSnapshotId;
          if (!snapshotId) return null;
          const { state: snapshot } = await p.executor.load(snapshotDecider, snapshotId);
          if (snapshot.status !== 'available' || snapshot.sha256 === null) {
            throw new PermanentSagaError(`database snapshot ${snapshotId} is ${snapshot.status}`);
          }
          const file = snapshotFile(p.snapshotDir, snapshotId);
          const found = await fileDigest(file).catch(() => null);
          if (found?.sha256 !== snapshot.sha256) {
            throw new PermanentSagaError(
              found
                ? `the file of snapshot ${snapshotId} does not match its recorded SHA-256`
                : `the file of snapshot ${snapshotId} is missing`,
            );
          }
          await p.engine.restore(
            input.databaseId,
            DATABASE_MASTER_USER,
            sqlDatabaseNameOf(db.name as string),
            file,
          );
          return null;
        },
      },
      {
        name: 'parameters',
        async execute({ input, results, signal }) {
          const db = await loadDatabase(p, input.databaseId);
          const parameters = db.settings.parameters;
          const names = Object.keys(parameters);
          if (names.length === 0) return null;
          const restart = names.some((n) => PARAMETER_RULES[n]?.applyBy === 'restart');
          await p.engine.applyParameters(
            input.databaseId,
            DATABASE_MASTER_USER,
            parameters,
            restart,
          );
          await p.engine.waitReady(
            results.server as Address,
            {
              user: DATABASE_MASTER_USER,
              password: await passwordOf(p, input),
              dbName: sqlDatabaseNameOf(db.name as string),
            },
            signal,
          );
          return null;
        },
      },
      {
        name: 'pooler',
        async execute({ input }) {
          const db = await loadDatabase(p, input.databaseId);
          if (!db.settings.poolingEnabled) return { poolerPort: null };
          const poolerPort = await p.engine.ensurePooler({
            databaseId: input.databaseId,
            tenantId: input.tenantId,
            version: db.version as string,
            user: DATABASE_MASTER_USER,
            password: await passwordOf(p, input),
          });
          return { poolerPort };
        },
      },
      {
        name: 'exporter',
        async execute({ input }) {
          const db = await loadDatabase(p, input.databaseId);
          if (!db.settings.metricsEnabled) return { metricsPort: null };
          const metricsPort = await p.engine.ensureExporter({
            databaseId: input.databaseId,
            tenantId: input.tenantId,
            version: db.version as string,
            user: DATABASE_MASTER_USER,
          });
          return { metricsPort };
        },
      },
      {
        name: 'record_running',
        async execute({ input, correlationId, results }) {
          const server = results.server as Address;
          const state = await loadDatabase(p, input.databaseId);
          requireCreating(state);
          await record(p, saga, input, 'running', correlationId, {
            type: 'RecordDatabaseRunning',
            endpoint: {
              host: server.host,
              port: server.port,
              poolerPort: (results.pooler as { poolerPort: number | null }).poolerPort,
              // A saga recorded before this step existed resumes without its result.
              metricsPort: results.exporter?.metricsPort ?? null,
            },
            now: new Date(),
          });
          return null;
        },
      },
    ],
  });
}

/**
 * Teardown of one database (`saga_database_delete-<databaseId>`), started by the delete handler
 * once `DatabaseDeletionStarted` (DELETING) is recorded. Each step idempotent: the final snapshot
 * taken when one was asked for (`keep`; if it cannot be, the snapshot is `failed`, the delete
 * aborted and the database RUNNING again, nothing removed), then, forward only, containers and
 * data volume removed, password deleted, the database gone, the quota back.
 */
/** Named by the final snapshot: a database deleted again after an abort has another one. */
const finalSnapshotContext = (input: DatabaseSagaInput, snapshotId: string, purpose: string) =>
  sagaCommandContext(DATABASE_DELETE_SAGA, snapshotId, `final_snapshot_${purpose}`, {
    tenantId: input.tenantId,
    correlationId: snapshotId,
  });

/**
 * The delete saga's instance: the database's id, or, for a delete with a final snapshot (which
 * may be aborted and asked for again), the snapshot's.
 */
export function databaseDeleteSagaId(databaseId: string, finalSnapshotId: string | null): string {
  return finalSnapshotId ?? databaseId;
}

const deletionOfEvent = onStreamOf<DatabaseSagaInput>(
  DATABASE_CATEGORY,
  (databaseId, tenantId, event) => ({
    sagaId: databaseDeleteSagaId(
      databaseId,
      (event.data as { finalSnapshotId?: string }).finalSnapshotId ?? null,
    ),
    input: { databaseId, tenantId },
  }),
);

export function databaseDeleteSaga(p: DatabaseSagaPorts): SagaDefinition<DatabaseSagaInput> {
  return engineTeardownSaga<DatabaseSagaInput>({
    name: DATABASE_DELETE_SAGA,
    startedBy: { DatabaseDeletionStarted: deletionOfEvent },
    stepTimeoutMs: 120_000,
    idOf: (input) => input.databaseId,
    secretNameOf: databaseSecretName,
    secrets: p.secrets,
    keepFirst: {
      timeoutMs: 3_600_000,
      async keep(input) {
        const { state } = await p.executor.load(databaseDecider, input.databaseId);
        const snapshotId = state.finalSnapshotId;
        if (!snapshotId || state.status !== 'DELETING') return;
        const { state: snapshot } = await p.executor.load(snapshotDecider, snapshotId);
        if (snapshot.status === 'available') return;
        const digest = await dumpSnapshot(p, snapshotId);
        await recordSnapshotAvailable(
          p,
          snapshotId,
          digest,
          finalSnapshotContext(input, snapshotId, 'available'),
        );
      },
      async abandon(input, { sagaId }) {
        const { state } = await p.executor.load(databaseDecider, input.databaseId);
        const snapshotId = state.finalSnapshotId;
        if (!snapshotId) return;
        const reason = await lastStepFailure(
          p.store,
          DATABASE_DELETE_SAGA,
          sagaId,
          'the final snapshot could not be taken',
        );
        await recordSnapshotFailed(
          p,
          snapshotId,
          reason,
          finalSnapshotContext(input, snapshotId, 'failed'),
        );
        await p.executor.execute(
          databaseDecider,
          input.databaseId,
          {
            type: 'AbortDatabaseDeletion',
            reason: `the final snapshot could not be taken: ${reason}`,
            now: new Date(),
          },
          finalSnapshotContext(input, snapshotId, 'abort_delete'),
          10,
        );
      },
    },
    async removeEngine(databaseId) {
      // A replica's slot and role on its primary go too (the primary would keep WAL for it).
      const { state } = await p.executor.load(databaseDecider, databaseId);
      if (state.role === 'REPLICA' && state.primaryId !== null) {
        await p.engine.dropReplicationSource(
          state.primaryId,
          DATABASE_MASTER_USER,
          replicationSlotName(databaseId),
        );
      }
      await p.engine.remove(databaseId);
      if (state.tenantId !== null) {
        await p.secrets.remove(
          state.tenantId,
          replicationSecretName(databaseId),
          sagaCommandContext(DATABASE_DELETE_SAGA, databaseId, 'remove_replication_password', {
            tenantId: state.tenantId,
            correlationId: databaseId,
          }),
        );
      }
    },
    recordDeleted: (input, correlationId) =>
      record(p, DATABASE_DELETE_SAGA, input, 'deleted', correlationId, {
        type: 'RecordDatabaseDeleted',
        now: new Date(),
      }),
    releaseQuota: p.releaseQuota,
  });
}
