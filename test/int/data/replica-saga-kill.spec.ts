/**
 * The replica provisioning saga on real Docker and PostgreSQL, in a child process SIGKILLed at
 * several points (after the credentials, after the slot, as the pg_basebackup step starts, after
 * it); a restarted process ends the replica RUNNING (streaming through its slot) or FAILED with no
 * container, volume, slot or replication role left. Under CI=true a missing Docker fails the file.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DATABASE_MASTER_USER, databaseDecider, sqlDatabaseNameOf } from '../../../src/data/domain';
import {
  databaseSecretName,
  newEnginePassword,
  replicationSlotName,
} from '../../../src/data/ports/credentials';
import { EngineContainers } from '../../../src/drivers/engines/engine-containers';
import {
  databaseContainerName,
  databaseVolumeName,
  PostgresEngine,
} from '../../../src/drivers/engines/postgres-engine';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { dockerClient, realDocker } from '../drivers/real-backends';
import { commandContext, SagaChildren } from '../network/fixtures/saga-kill';
import { TableSecretStore } from './fixtures/table-secret-store';

const docker = realDocker();
const TENANT = randomUUID();
const INSTALLATION = `replica-kill-${randomUUID().slice(0, 8)}`;
const settings = {
  allocatedStorageGb: 1,
  poolingEnabled: false,
  metricsEnabled: false,
  parameters: {},
};

describe('replica provisioning, killed mid-saga (real Docker)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  let secrets: TableSecretStore;
  let secretsPool: Pool | undefined;
  let engine: PostgresEngine;
  const primaryId = randomUUID();
  let primaryUrl = '';
  const made: string[] = [];
  const children = new SagaChildren('test/int/data/fixtures/replica-child.ts', 'replica', 300_000);
  const timings: string[] = [];

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    db = await createTestDatabase('replica_kill');
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    executor = new CommandExecutor(store);
    secretsPool = new Pool({ connectionString: db.url, max: 2 });
    secrets = new TableSecretStore(secretsPool);
    engine = new PostgresEngine(new EngineContainers(dockerClient(), INSTALLATION));
    // A RUNNING primary, as its own provisioning saga leaves it.
    const ctx = commandContext(TENANT);
    await executor.execute(
      databaseDecider,
      primaryId,
      {
        type: 'CreateDatabase',
        databaseId: primaryId,
        tenantId: TENANT,
        name: 'killdb',
        engine: 'postgres',
        version: '15',
        settings,
        now: new Date(),
      },
      ctx,
    );
    made.push(primaryId);
    const password = newEnginePassword();
    await secrets.put({ tenantId: TENANT, name: databaseSecretName(primaryId), value: password });
    const address = await engine.ensurePrimary({
      databaseId: primaryId,
      tenantId: TENANT,
      version: '15',
      user: DATABASE_MASTER_USER,
      dbName: sqlDatabaseNameOf('killdb'),
      password,
    });
    await engine.waitReady(address, {
      user: DATABASE_MASTER_USER,
      password,
      dbName: 'killdb',
    });
    primaryUrl = `postgresql://${DATABASE_MASTER_USER}:${password}@${address.host}:${address.port}/killdb`;
    await executor.execute(
      databaseDecider,
      primaryId,
      {
        type: 'RecordDatabaseRunning',
        endpoint: { ...address, poolerPort: null, metricsPort: null },
        now: new Date(),
      },
      commandContext(TENANT),
    );
  }, 300_000);

  afterEach(() => children.killAll());

  afterAll(async () => {
    if (timings.length > 0) console.info(`[replica kills]\n  ${timings.join('\n  ')}`);
    for (const id of made.reverse()) await engine?.remove(id).catch(() => undefined);
    await store?.close();
    // Ended before the drop: DROP DATABASE … WITH (FORCE) would kill its idle client, and a pool
    // without an error listener turns that into an uncaught exception.
    await secretsPool?.end();
    await db?.drop();
  });

  async function primaryQuery(sql: string): Promise<string[]> {
    const client = new Client({ connectionString: primaryUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: string }>(sql);
      return rows.map((r) => r.v);
    } finally {
      await client.end();
    }
  }

  async function containerExists(name: string): Promise<boolean> {
    return dockerClient()
      .getContainer(name)
      .inspect()
      .then(() => true)
      .catch(() => false);
  }

  async function volumeExists(name: string): Promise<boolean> {
    return dockerClient()
      .getVolume(name)
      .inspect()
      .then(() => true)
      .catch(() => false);
  }

  for (const [pause, fail] of [
    ['after:SagaStepSucceeded:credentials', ''],
    ['after:SagaStepSucceeded:slot', ''],
    ['after:SagaStepStarted:server', ''],
    ['after:SagaStepSucceeded:server', ''],
    // Restarted into a failure: the compensation has a slot, role and passwords to remove.
    ['after:SagaStepSucceeded:slot', 'image'],
  ]) {
    it(`killed ${pause}, restarted${fail ? ' failing' : ''}: RUNNING or FAILED with nothing left`, async (ctx) => {
      docker.require(ctx);
      const replicaId = randomUUID();
      made.push(replicaId);
      const primary = (await executor.load(databaseDecider, primaryId)).state;
      await executor.execute(
        databaseDecider,
        replicaId,
        {
          type: 'CreateReplica',
          databaseId: replicaId,
          tenantId: TENANT,
          name: 'killdb-replica',
          primary: {
            databaseId: primaryId,
            tenantId: primary.tenantId,
            status: primary.status,
            role: primary.role,
            engine: primary.engine,
            version: primary.version,
            settings: primary.settings,
            sqlDatabase: 'killdb',
          },
          now: new Date(),
        },
        commandContext(TENANT),
      );
      const env = {
        REPLICA_TEST_DB: db.url,
        REPLICA_ID: replicaId,
        REPLICA_TENANT: TENANT,
        REPLICA_INSTALLATION: INSTALLATION,
      };
      const first = children.spawn({ ...env, REPLICA_PAUSE: pause });
      await first.next('paused');
      await first.kill();
      const started = performance.now();
      const second = children.spawn({ ...env, REPLICA_PAUSE: '', REPLICA_FAIL: fail });
      const { status } = await second.next('settled');
      await second.kill();
      const state = (await executor.load(databaseDecider, replicaId)).state;
      timings.push(
        `${pause}: restarted, saga ${status}, replica ${state.status} in ${Math.round(performance.now() - started)} ms`,
      );
      const slot = replicationSlotName(replicaId);
      expect(state.status).toBe(fail ? 'FAILED' : 'RUNNING');
      if (state.status === 'RUNNING') {
        expect(await containerExists(databaseContainerName(replicaId))).toBe(true);
        const active = await primaryQuery(
          `SELECT slot_name AS v FROM pg_replication_slots WHERE slot_name = '${slot}'`,
        );
        expect(active).toEqual([slot]);
        await primaryQuery(
          `CREATE TABLE IF NOT EXISTS t_${replicaId.slice(0, 8)} AS SELECT 1 AS v`,
        );
        // The replica streams: the primary sees its walsender on the slot.
        for (let i = 0; i < 120; i++) {
          const lag = await engine.replicationLag(primaryId, DATABASE_MASTER_USER, slot);
          if (lag?.state === 'streaming') break;
          if (i === 119) throw new Error(`replica not streaming: ${JSON.stringify(lag)}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        await engine.dropReplicationSource(primaryId, DATABASE_MASTER_USER, slot);
        await engine.remove(replicaId);
      } else {
        expect(await containerExists(databaseContainerName(replicaId))).toBe(false);
        expect(await volumeExists(databaseVolumeName(replicaId))).toBe(false);
        expect(
          await primaryQuery(
            `SELECT slot_name AS v FROM pg_replication_slots WHERE slot_name = '${slot}'`,
          ),
        ).toEqual([]);
        expect(
          await primaryQuery(`SELECT rolname AS v FROM pg_roles WHERE rolname = '${slot}'`),
        ).toEqual([]);
        expect(await secrets.reveal(TENANT, databaseSecretName(replicaId))).toBeNull();
      }
    }, 600_000);
  }
});
