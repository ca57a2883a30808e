/**
 * saga_database_provision on real Docker (nimbus/postgres:15) and real PostgreSQL, in a child
 * process SIGKILLed at several points: after the data volume (no container yet), after the server
 * container (step not recorded), after the server step was recorded, after the owner's login
 * (not recorded), and after the pooler step (readiness recorded, RUNNING not). A restarted
 * process ends the database RUNNING with one server container, psql logs in with the password of
 * the secrets store and the first start's data directory is kept. When readiness fails the saga
 * compensates; killed during the compensation, a restarted process ends it FAILED with no
 * container, volume or password left behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DATABASE_MASTER_USER, databaseDecider, sqlDatabaseNameOf } from '../../../src/data/domain';
import { databaseSecretName } from '../../../src/data/ports/credentials';
import {
  databaseContainerName,
  databaseVolumeName,
  poolerContainerName,
} from '../../../src/drivers/engines/postgres-engine';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import type { SecretStore } from '../../../src/secrets/ports/secret-store';
import type { TestDatabase } from '../../support/pg';
import type { ChildRun } from '../compute/fixtures/child-run';
import { dockerClient, realDocker } from '../drivers/real-backends';
import { commandContext, SagaChildren } from '../network/fixtures/saga-kill';
import type { DatabaseChildMessage } from './fixtures/database-provision-child';
import { openCrashScene, removeInstallation, type CrashScene } from './fixtures/crash-scene';

const run = promisify(execFile);
const docker = realDocker();
const TENANT = randomUUID();
const INSTALLATION = randomUUID();
const MASTER_KEY = randomBytes(32).toString('hex');

async function exists(kind: 'container' | 'volume', name: string): Promise<boolean> {
  try {
    if (kind === 'container') await dockerClient().getContainer(name).inspect();
    else await dockerClient().getVolume(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/**
 * `SELECT current_user` through psql, tried for up to a minute: on a loaded CI host a login
 * through pgbouncer (its connection to the server, SCRAM on both hops) went past a 5 s connect
 * timeout in CI runs 5 and 6 while it takes well under a second alone.
 */
async function currentUser(connection: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { stdout } = await run('psql', [connection, '-Atq', '-c', 'SELECT current_user'], {
        env: { ...process.env, PGCONNECT_TIMEOUT: '15' },
      });
      return stdout.trim();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

describe('database provisioning saga, killed mid-way (real Docker)', () => {
  let scene: CrashScene;
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  let secrets: SecretStore;
  const children = new SagaChildren(
    'test/int/data/fixtures/database-provision-child.ts',
    'database provision',
    300_000,
  );
  const settleTimes: Record<string, number> = {};

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    scene = await openCrashScene('db_provision_crash', MASTER_KEY);
    ({ db, store, executor, secrets } = scene);
  });

  afterEach(() => children.killAll());

  afterAll(async () => {
    console.log(`[database-provision-crash] restart-to-settled ms: ${JSON.stringify(settleTimes)}`);
    await removeInstallation(INSTALLATION);
    await scene?.close();
  });

  /** What the create handler leaves before the saga: the database CREATING. */
  async function creatingDatabase(name: string, pooling: boolean): Promise<string> {
    const databaseId = randomUUID();
    await executor.execute(
      databaseDecider,
      databaseId,
      {
        type: 'CreateDatabase',
        databaseId,
        tenantId: TENANT,
        name,
        engine: 'postgres',
        version: '15',
        settings: {
          allocatedStorageGb: 1,
          poolingEnabled: pooling,
          metricsEnabled: false,
          parameters: {},
        },
        now: new Date(),
      },
      commandContext(TENANT),
    );
    return databaseId;
  }

  function spawnChild(
    databaseId: string,
    pause: string,
    fail = '',
  ): ChildRun<DatabaseChildMessage> {
    return children.spawn({
      DBC_TEST_DB: db.url,
      DBC_DATABASE: databaseId,
      DBC_TENANT: TENANT,
      DBC_PAUSE: pause,
      DBC_FAIL: fail,
      DBC_INSTALLATION: INSTALLATION,
      DBC_MASTER_KEY: MASTER_KEY,
    });
  }

  async function killAt(databaseId: string, pause: string, fail = ''): Promise<void> {
    const first = spawnChild(databaseId, pause, fail);
    await first.next('paused');
    await first.kill();
    expect((await executor.load(databaseDecider, databaseId)).state.status).toBe('CREATING');
  }

  /** A second process resumes the saga; returns its outcome and how long it took. */
  async function restart(databaseId: string, label: string, fail = ''): Promise<string> {
    const started = performance.now();
    const second = spawnChild(databaseId, '', fail);
    const { status } = await second.next('settled');
    settleTimes[label] = Math.round(performance.now() - started);
    return status;
  }

  it.for<[string, boolean]>([
    ['effect:volume', false],
    ['effect:container', false],
    ['after:SagaStepSucceeded:server', false],
    ['effect:ready', false],
    ['after:SagaStepSucceeded:pooler', true],
  ])(
    'killed at %s, a restarted process ends the database RUNNING and psql logs in',
    // Two processes, PostgreSQL's first start and pgbouncer's: past 60 s on a loaded CI host.
    { timeout: 180_000 },
    async ([pause, pooling], ctx) => {
      docker.require(ctx);
      const name = `crash-${pause.replace(/[^a-z]/gi, '-').toLowerCase()}`.slice(0, 40);
      const databaseId = await creatingDatabase(name, pooling);
      await killAt(databaseId, pause);

      expect(await restart(databaseId, pause)).toBe('completed');
      const { state } = await executor.load(databaseDecider, databaseId);
      expect(state.status).toBe('RUNNING');
      expect(state.endpoint?.poolerPort !== null).toBe(pooling);
      expect(await exists('container', databaseContainerName(databaseId))).toBe(true);
      expect(await exists('container', poolerContainerName(databaseId))).toBe(pooling);
      const password = await secrets.reveal(TENANT, databaseSecretName(databaseId));
      expect(password).toEqual(expect.any(String));
      const port = pooling ? state.endpoint?.poolerPort : state.endpoint?.port;
      const connection = `postgresql://${DATABASE_MASTER_USER}:${encodeURIComponent(password as string)}@127.0.0.1:${port}/${sqlDatabaseNameOf(name)}?sslmode=disable`;
      expect(await currentUser(connection)).toBe(DATABASE_MASTER_USER);
      const types = (await store.readStream(`database-${databaseId}`)).map((e) => e.type);
      expect(types).toEqual(['DatabaseCreated', 'DatabaseRunning']);
    },
  );

  it.for(['after:SagaCompensationStarted:', 'after:SagaStepCompensated:server'])(
    'readiness failing, killed at %s, a restarted process ends it FAILED with nothing left behind',
    { timeout: 180_000 },
    async (pause, ctx) => {
      docker.require(ctx);
      const databaseId = await creatingDatabase('crash-compensate', false);
      await killAt(databaseId, pause, 'ready');

      expect(await restart(databaseId, `compensation ${pause}`, 'ready')).toBe('compensated');
      const { state } = await executor.load(databaseDecider, databaseId);
      expect(state.status).toBe('FAILED');
      expect(state.failureReason).toMatch(/readiness made to fail/);
      expect(await exists('container', databaseContainerName(databaseId))).toBe(false);
      expect(await exists('container', poolerContainerName(databaseId))).toBe(false);
      expect(await exists('volume', databaseVolumeName(databaseId))).toBe(false);
      expect(await secrets.reveal(TENANT, databaseSecretName(databaseId))).toBeNull();
    },
  );
});
