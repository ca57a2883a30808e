/**
 * The data drift reconciler on real Docker (nimbus/redis:7, nimbus/postgres:15): a cache's
 * container killed with `docker kill` is started again and the restart recorded (AUTH+PING
 * answers again); a database's server killed likewise, its rows still there (psql), and its
 * removed pgbouncer made again (the connection string works); a database
 * whose container was removed with `docker rm -f` is FAILED with the reason through the API and
 * can still be deleted (volume gone); a running container of a STOPPED database is stopped.
 * After a restart of the application (same event store, same installation) a RUNNING database
 * whose container was killed while Nimbus was down is started by the start-up reconcile: still
 * RUNNING and psql reaches it.
 *
 * The periodic reconcile is set to an hour: each step calls the reconciler itself.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataReconciler } from '../../src/data/application/data-reconciler';
import {
  databaseContainerName,
  databaseVolumeName,
  poolerContainerName,
} from '../../src/drivers/engines/postgres-engine';
import { cacheContainerName } from '../../src/drivers/engines/redis-engine';
import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { eventsOfType, signUp, type Account } from './identity.helpers';
import { psql, removeDatabaseEngines, until } from './data.helpers';

const run = promisify(execFile);
const docker = realDocker();

async function containerRunning(name: string): Promise<boolean | null> {
  try {
    return (await dockerClient().getContainer(name).inspect()).State.Running;
  } catch {
    return null;
  }
}

describe('data drift reconciler on real Docker (e2e)', () => {
  let t: TestApp;
  let database: TestDatabase;
  let dataDir: string;
  let alice: Account;
  let sdk: NimbusClient;
  const caches: string[] = [];
  const databases: string[] = [];
  const config = { dataReconcileIntervalMs: 3_600_000 };

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    database = await createTestDatabase('data_drift');
    // Kept across the restart: the installation id (container labels) lives in it.
    dataDir = mkdtempSync(join(tmpdir(), 'nimbus-data-drift-'));
    t = await startTestApp({ database, config: { ...config, dataDir } });
    alice = await signUp(t, 'drift-alice');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
  }, 120_000);

  afterAll(async () => {
    const client = dockerClient();
    for (const id of caches) {
      await client
        .getContainer(cacheContainerName(id))
        .remove({ force: true })
        .catch(() => undefined);
    }
    await removeDatabaseEngines(databases);
    await t?.close();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const path = (id: string) => ({ params: { path: { id } } });
  const reconciler = () => t.app.get(DataReconciler);

  async function runningDatabase(name: string, pooling: boolean): Promise<string> {
    const db = unwrap(
      await sdk.POST('/databases', {
        body: {
          name,
          engine: 'postgres',
          version: '15',
          allocated_storage: 1,
          pooling_enabled: pooling,
        },
      }),
    );
    databases.push(db.id);
    await until(`database ${name} RUNNING`, async () => {
      const d = unwrap(await sdk.GET('/databases/{id}', path(db.id)));
      if (d.status === 'FAILED') throw new Error(`database failed: ${d.failure_reason}`);
      return d.status === 'RUNNING' ? d : undefined;
    });
    return db.id;
  }

  it('a killed cache container is started again, the restart recorded, AUTH+PING answers', async (ctx) => {
    docker.require(ctx);
    const cache = unwrap(
      await sdk.POST('/caches', { body: { name: 'drift-cache', memory_mb: 32 } }),
    );
    caches.push(cache.id);
    await until('cache RUNNING', async () => {
      const c = unwrap(await sdk.GET('/caches/{id}', path(cache.id)));
      if (c.status === 'FAILED') throw new Error(`cache failed: ${c.failure_reason}`);
      return c.status === 'RUNNING' ? c : undefined;
    });
    expect(await reconciler().reconcileCache(cache.id)).toBe('none');

    await run('docker', ['kill', cacheContainerName(cache.id)]);
    await until('the killed cache container to be down', async () =>
      (await containerRunning(cacheContainerName(cache.id))) === false ? true : undefined,
    );
    expect(await reconciler().reconcileCache(cache.id)).toBe('restarted');
    expect(await containerRunning(cacheContainerName(cache.id))).toBe(true);
    expect(unwrap(await sdk.GET('/caches/{id}', path(cache.id))).status).toBe('RUNNING');
    expect(await eventsOfType(t, 'CacheEngineRestarted')).toHaveLength(1);

    const conn = unwrap(await sdk.GET('/caches/{id}/connection', path(cache.id)));
    const redis = new Redis(conn.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    // Settled: a second pass finds nothing to do.
    expect(await reconciler().reconcileCache(cache.id)).toBe('none');
  });

  it('a killed database server is started again with its rows; a removed one is FAILED through the API and deletes cleanly', async (ctx) => {
    docker.require(ctx);
    const id = await runningDatabase('drift-db', true);
    const conn = unwrap(await sdk.GET('/databases/{id}/connection', path(id)));
    await psql(conn.connection_string, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES (1)');

    // Killed: started again (server and pgbouncer), the same endpoint, the rows there.
    await run('docker', ['kill', databaseContainerName(id), poolerContainerName(id)]);
    await until('the killed database containers to be down', async () =>
      (await containerRunning(databaseContainerName(id))) === false ? true : undefined,
    );
    expect(await reconciler().reconcileDatabase(id)).toBe('restarted');
    const after = unwrap(await sdk.GET('/databases/{id}', path(id)));
    expect(after.status).toBe('RUNNING');
    expect(await psql(conn.connection_string, 'SELECT v FROM kept')).toBe('1');
    expect(await eventsOfType(t, 'DatabaseEngineRestarted')).toHaveLength(1);

    // pgbouncer removed: made again, its port recorded; the returned connection string works.
    await run('docker', ['rm', '-f', poolerContainerName(id)]);
    expect(await reconciler().reconcileDatabase(id)).toBe('restarted');
    const repooled = unwrap(await sdk.GET('/databases/{id}/connection', path(id)));
    expect(repooled.pooled).toBe(true);
    expect(await containerRunning(poolerContainerName(id))).toBe(true);
    expect(await psql(repooled.connection_string, 'SELECT v FROM kept')).toBe('1');

    // Removed behind Nimbus's back: recorded, FAILED with the reason, visible through the API.
    await run('docker', ['rm', '-f', databaseContainerName(id)]);
    const summary = await reconciler().reconcileAll();
    expect(summary.databases[id]).toBe('lost');
    // The read model follows the log asynchronously.
    const lost = await until('FAILED through the API', async () => {
      const d = unwrap(await sdk.GET('/databases/{id}', path(id)));
      return d.status === 'FAILED' ? d : undefined;
    });
    expect(lost.failure_reason).toMatch(/removed outside Nimbus/);
    expect(await eventsOfType(t, 'DatabaseEngineLost')).toHaveLength(1);
    expect(await reconciler().reconcileDatabase(id)).toBe('skipped');

    // What remains (pgbouncer, the volume, the password) goes with the delete.
    expect((await sdk.DELETE('/databases/{id}', path(id))).response.status).toBe(202);
    await until('database gone', async () =>
      (await sdk.GET('/databases/{id}', path(id))).response.status === 404 ? true : undefined,
    );
    expect(await containerRunning(poolerContainerName(id))).toBeNull();
    await expect(dockerClient().getVolume(databaseVolumeName(id)).inspect()).rejects.toThrow();
  });

  it('a STOPPED database whose container was started outside Nimbus is stopped again', async (ctx) => {
    docker.require(ctx);
    const id = await runningDatabase('drift-stopped', false);
    expect((await sdk.POST('/databases/{id}/stop', path(id))).response.status).toBe(200);
    await run('docker', ['start', databaseContainerName(id)]);
    expect(await reconciler().reconcileDatabase(id)).toBe('stopped');
    expect(await containerRunning(databaseContainerName(id))).toBe(false);
    expect(unwrap(await sdk.GET('/databases/{id}', path(id))).status).toBe('STOPPED');
  });

  it('after a restart of the application a RUNNING database killed meanwhile is RUNNING again and psql reaches it', async (ctx) => {
    docker.require(ctx);
    const id = await runningDatabase('drift-restart', false);
    const before = unwrap(await sdk.GET('/databases/{id}/connection', path(id)));
    await psql(
      before.connection_string,
      'CREATE TABLE survived (v int); INSERT INTO survived VALUES (7)',
    );

    await t.close();
    // Killed while Nimbus is down: the start-up reconcile, before the API listens, starts it.
    await run('docker', ['kill', databaseContainerName(id)]);
    const restartedAt = performance.now();
    t = await startTestApp({ database, config: { ...config, dataDir } });
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    // The start-up reconcile ran before listening: nothing was left to change.
    expect(await reconciler().reconcileDatabase(id)).toBe('none');
    expect(
      (await eventsOfType(t, 'DatabaseEngineRestarted')).filter((e) => e.stream_id.endsWith(id)),
    ).toHaveLength(1);
    const after = unwrap(await sdk.GET('/databases/{id}/connection', path(id)));
    expect(await psql(after.connection_string, 'SELECT v FROM survived')).toBe('7');
    console.log(
      `[data-drift] app restart (its container killed meanwhile) to a RUNNING database answering psql: ${Math.round(performance.now() - restartedAt)} ms`,
    );
  });
});
