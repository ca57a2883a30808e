/**
 * saga_cache_provision on real Docker (nimbus/redis:7) and real PostgreSQL, in a child process
 * SIGKILLed after the password, after the container (not recorded), after the container step,
 * after AUTH+PING answered (not recorded) and after the ready step (RUNNING not recorded): a
 * restarted process ends the cache RUNNING with one container answering AUTH+PING with the
 * stored password. When readiness fails the saga compensates; killed during the compensation, a
 * restarted process ends it FAILED with no container or password left behind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { cacheDecider } from '../../../src/data/domain';
import { cacheSecretName } from '../../../src/data/ports/credentials';
import { cacheContainerName } from '../../../src/drivers/engines/redis-engine';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import type { SecretStore } from '../../../src/secrets/ports/secret-store';
import type { TestDatabase } from '../../support/pg';
import type { ChildRun } from '../compute/fixtures/child-run';
import { dockerClient, realDocker } from '../drivers/real-backends';
import { commandContext, SagaChildren } from '../network/fixtures/saga-kill';
import type { CacheChildMessage } from './fixtures/cache-provision-child';
import { openCrashScene, removeInstallation, type CrashScene } from './fixtures/crash-scene';

const docker = realDocker();
const TENANT = randomUUID();
const INSTALLATION = randomUUID();
const MASTER_KEY = randomBytes(32).toString('hex');

async function containerExists(name: string): Promise<boolean> {
  try {
    await dockerClient().getContainer(name).inspect();
    return true;
  } catch {
    return false;
  }
}

describe('cache provisioning saga, killed mid-way (real Docker)', () => {
  let scene: CrashScene;
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  let secrets: SecretStore;
  const children = new SagaChildren(
    'test/int/data/fixtures/cache-provision-child.ts',
    'cache provision',
    300_000,
  );
  const settleTimes: Record<string, number> = {};

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    scene = await openCrashScene('cache_provision_crash', MASTER_KEY);
    ({ db, store, executor, secrets } = scene);
  });

  afterEach(() => children.killAll());

  afterAll(async () => {
    console.log(`[cache-provision-crash] restart-to-settled ms: ${JSON.stringify(settleTimes)}`);
    await removeInstallation(INSTALLATION);
    await scene?.close();
  });

  async function creatingCache(): Promise<string> {
    const cacheId = randomUUID();
    await executor.execute(
      cacheDecider,
      cacheId,
      {
        type: 'CreateCache',
        cacheId,
        tenantId: TENANT,
        name: 'crash',
        memoryMb: 32,
        now: new Date(),
      },
      commandContext(TENANT),
    );
    return cacheId;
  }

  function spawnChild(cacheId: string, pause: string, fail = ''): ChildRun<CacheChildMessage> {
    return children.spawn({
      CC_TEST_DB: db.url,
      CC_CACHE: cacheId,
      CC_TENANT: TENANT,
      CC_PAUSE: pause,
      CC_FAIL: fail,
      CC_INSTALLATION: INSTALLATION,
      CC_MASTER_KEY: MASTER_KEY,
    });
  }

  async function killThenRestart(cacheId: string, pause: string, fail = ''): Promise<string> {
    const first = spawnChild(cacheId, pause, fail);
    await first.next('paused');
    await first.kill();
    expect((await executor.load(cacheDecider, cacheId)).state.status).toBe('CREATING');
    const started = performance.now();
    const second = spawnChild(cacheId, '', fail);
    const { status } = await second.next('settled');
    settleTimes[`${fail ? 'compensation ' : ''}${pause}`] = Math.round(performance.now() - started);
    return status;
  }

  it.for([
    'after:SagaStepSucceeded:credentials',
    'effect:container',
    'after:SagaStepSucceeded:container',
    'effect:ready',
    'after:SagaStepSucceeded:ready',
  ])(
    'killed at %s, a restarted process ends the cache RUNNING and AUTH+PING answers',
    async (pause, ctx) => {
      docker.require(ctx);
      const cacheId = await creatingCache();
      expect(await killThenRestart(cacheId, pause)).toBe('completed');
      const { state } = await executor.load(cacheDecider, cacheId);
      expect(state.status).toBe('RUNNING');
      expect(await containerExists(cacheContainerName(cacheId))).toBe(true);
      const password = await secrets.reveal(TENANT, cacheSecretName(cacheId));
      const redis = new Redis({
        host: state.endpoint?.host,
        port: state.endpoint?.port,
        password: password as string,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      });
      try {
        await redis.connect();
        expect(await redis.ping()).toBe('PONG');
      } finally {
        redis.disconnect();
      }
      const types = (await store.readStream(`cache-${cacheId}`)).map((e) => e.type);
      expect(types).toEqual(['CacheCreated', 'CacheRunning']);
    },
  );

  it.for(['after:SagaCompensationStarted:', 'after:SagaStepCompensated:container'])(
    'readiness failing, killed at %s, a restarted process ends it FAILED with nothing left behind',
    async (pause, ctx) => {
      docker.require(ctx);
      const cacheId = await creatingCache();
      expect(await killThenRestart(cacheId, pause, 'ready')).toBe('compensated');
      const { state } = await executor.load(cacheDecider, cacheId);
      expect(state.status).toBe('FAILED');
      expect(state.failureReason).toMatch(/readiness made to fail/);
      expect(await containerExists(cacheContainerName(cacheId))).toBe(false);
      expect(await secrets.reveal(TENANT, cacheSecretName(cacheId))).toBeNull();
    },
  );
});
