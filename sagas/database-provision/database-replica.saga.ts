import {
  DATABASE_CATEGORY,
  DATABASE_MASTER_USER,
  databaseDecider,
  sqlDatabaseOf,
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
  lastStepFailure,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
} from '../runtime/definition';
import type { DatabaseSagaInput, DatabaseSagaPorts } from './database-provision.saga';

export const DATABASE_REPLICA_SAGA = 'database_replica_provision';

interface Address extends Record<string, unknown> {
  host: string;
  port: number;
}

interface ReplicaResults extends Record<string, unknown> {
  begin: null;
  credentials: null;
  slot: { primaryId: string; slot: string };
  server: Address;
  ready: null;
  record_running: null;
}

const replicaOfEvent = onStreamOf<DatabaseSagaInput>(DATABASE_CATEGORY, (databaseId, tenantId) => ({
  sagaId: databaseId,
  input: { databaseId, tenantId },
}));

async function load(p: DatabaseSagaPorts, databaseId: string): Promise<DatabaseState> {
  const { state, exists } = await p.executor.load(databaseDecider, databaseId);
  if (!exists) throw new PermanentSagaError(`database ${databaseId} does not exist`);
  return state;
}

async function replicaAndPrimary(
  p: DatabaseSagaPorts,
  replicaId: string,
): Promise<{ replica: DatabaseState; primary: DatabaseState }> {
  const replica = await load(p, replicaId);
  if (replica.status !== 'CREATING' && replica.status !== 'RUNNING') {
    throw new PermanentSagaError(`the replica is ${replica.status}; provisioning stopped`);
  }
  if (replica.role !== 'REPLICA' || replica.primaryId === null) {
    throw new PermanentSagaError(`database ${replicaId} is not a replica`);
  }
  const primary = await load(p, replica.primaryId);
  if (primary.status !== 'RUNNING' || primary.endpoint === null) {
    throw new PermanentSagaError(`the primary ${replica.primaryId} is ${primary.status}`);
  }
  return { replica, primary };
}

async function reveal(p: DatabaseSagaPorts, tenantId: string, name: string): Promise<string> {
  const value = await p.secrets.reveal(tenantId, name);
  if (value === null) throw new Error(`${name} is not in the secrets store`);
  return value;
}

/**
 * A streaming replica (`saga_database_replica_provision-<replicaId>`), started by the
 * create-replica handler once `DatabaseReplicaCreated` (CREATING, role REPLICA) is recorded.
 * Steps, each idempotent:
 *
 *   begin           nothing; its compensation (the last to run) records FAILED with the error
 *   credentials     the replica's owner password (the primary's: the copy carries its roles) and
 *                   a replication password, both in the secrets store
 *   slot            on the primary: a REPLICATION role and a physical slot, both named after the
 *                   replica, so the primary keeps the WAL the replica has not replayed
 *   server          volume filled by pg_basebackup -R through the slot (run in the replica's own
 *                   container, on the host network), then the hot standby server
 *   ready           the owner logs in on the replica
 *   record_running  RUNNING with its endpoint
 *
 * Compensation removes container and volume, slot and role on the primary, both passwords, and
 * records FAILED.
 */
export function databaseReplicaSaga(p: DatabaseSagaPorts): SagaDefinition<DatabaseSagaInput> {
  const saga = DATABASE_REPLICA_SAGA;
  const ctxOf = (input: DatabaseSagaInput, purpose: string, correlationId: string) =>
    sagaCommandContext(saga, input.databaseId, purpose, {
      tenantId: input.tenantId,
      correlationId,
    });
  return defineSaga<DatabaseSagaInput, ReplicaResults>({
    name: saga,
    startedBy: { DatabaseReplicaCreated: replicaOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 5000 },
    stepTimeoutMs: 900_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const reason = await lastStepFailure(
            p.store,
            saga,
            input.databaseId,
            'replica provisioning failed',
          );
          await p.executor.execute(
            databaseDecider,
            input.databaseId,
            { type: 'RecordDatabaseFailed', reason, now: new Date() },
            ctxOf(input, 'failed', correlationId),
            10,
          );
        },
      },
      {
        name: 'credentials',
        async execute({ input, correlationId }) {
          const { primary } = await replicaAndPrimary(p, input.databaseId);
          const owner = databaseSecretName(input.databaseId);
          if ((await p.secrets.reveal(input.tenantId, owner)) === null) {
            await p.secrets.put(
              {
                tenantId: input.tenantId,
                name: owner,
                value: await reveal(
                  p,
                  input.tenantId,
                  databaseSecretName(primary.databaseId as string),
                ),
                owner: { kind: 'database', id: input.databaseId },
                description: `password of database ${input.databaseId} (user ${DATABASE_MASTER_USER})`,
              },
              ctxOf(input, 'store_password', correlationId),
            );
          }
          const replication = replicationSecretName(input.databaseId);
          if ((await p.secrets.reveal(input.tenantId, replication)) === null) {
            await p.secrets.put(
              {
                tenantId: input.tenantId,
                name: replication,
                value: newEnginePassword(),
                owner: { kind: 'database', id: input.databaseId },
                description: `replication password of replica ${input.databaseId} on its primary`,
              },
              ctxOf(input, 'store_replication_password', correlationId),
            );
          }
          return null;
        },
        async compensate({ input, correlationId }) {
          for (const name of [
            databaseSecretName(input.databaseId),
            replicationSecretName(input.databaseId),
          ]) {
            await p.secrets.remove(
              input.tenantId,
              name,
              ctxOf(input, 'remove_password', correlationId),
            );
          }
        },
      },
      {
        name: 'slot',
        async execute({ input }) {
          const { primary } = await replicaAndPrimary(p, input.databaseId);
          const slot = replicationSlotName(input.databaseId);
          await p.engine.ensureReplicationSource(
            primary.databaseId as string,
            DATABASE_MASTER_USER,
            slot,
            await reveal(p, input.tenantId, replicationSecretName(input.databaseId)),
          );
          return { primaryId: primary.databaseId as string, slot };
        },
        async compensate({ input }) {
          const replica = await load(p, input.databaseId);
          if (replica.primaryId === null) return;
          await p.engine.dropReplicationSource(
            replica.primaryId,
            DATABASE_MASTER_USER,
            replicationSlotName(input.databaseId),
          );
        },
      },
      {
        name: 'server',
        async execute({ input }) {
          const { replica, primary } = await replicaAndPrimary(p, input.databaseId);
          const version = replica.version as string;
          try {
            await p.images.ensure(p.engine.image(version));
          } catch (error) {
            throw new PermanentSagaError(error instanceof Error ? error.message : String(error));
          }
          const endpoint = primary.endpoint as { host: string; port: number };
          const address = await p.engine.ensureReplica({
            replicaId: input.databaseId,
            tenantId: input.tenantId,
            version,
            primary: { host: endpoint.host, port: endpoint.port },
            slot: replicationSlotName(input.databaseId),
            replicationPassword: await reveal(
              p,
              input.tenantId,
              replicationSecretName(input.databaseId),
            ),
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
          const replica = await load(p, input.databaseId);
          await p.engine.waitReady(
            results.server as Address,
            {
              user: DATABASE_MASTER_USER,
              password: await reveal(p, input.tenantId, databaseSecretName(input.databaseId)),
              dbName: sqlDatabaseOf(replica),
            },
            signal,
          );
          return null;
        },
      },
      {
        name: 'record_running',
        async execute({ input, correlationId, results }) {
          const server = results.server as Address;
          const replica = await load(p, input.databaseId);
          if (replica.status !== 'CREATING' && replica.status !== 'RUNNING') {
            throw new PermanentSagaError(`the replica is ${replica.status}; provisioning stopped`);
          }
          await p.executor.execute(
            databaseDecider,
            input.databaseId,
            {
              type: 'RecordDatabaseRunning',
              endpoint: {
                host: server.host,
                port: server.port,
                poolerPort: null,
                metricsPort: null,
              },
              now: new Date(),
            },
            ctxOf(input, 'running', correlationId),
            10,
          );
          return null;
        },
      },
    ],
  });
}
