/**
 * Caches on real Docker through the generated SDK: a Redis 7 container per cache (nimbus/redis:7,
 * built by docker/build-engine-images.sh), RUNNING once it answers; the connection URL works
 * with `redis-cli -u` (run in the cache's own container) and with ioredis, a wrong password is
 * refused; maxmemory and the container's memory limit are memory_mb; stats come from INFO; flush
 * empties it; delete removes the container and the password. Bad input appends nothing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { uuidV5 } from '../../src/common/ids';
import { cacheContainerName } from '../../src/drivers/engines/redis-engine';
import { createNimbusClient, itemsOf, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';
import { until } from './data.helpers';

const run = promisify(execFile);
const docker = realDocker();

async function redisCli(container: string, url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', [
    'exec',
    container,
    'redis-cli',
    '--no-auth-warning',
    '-u',
    url,
    ...args,
  ]);
  return stdout.trim();
}

describe('caches on real Docker (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let sdk: NimbusClient;
  const created: string[] = [];

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'data_caches' });
    alice = await signUp(t, 'cache-alice');
    bob = await signUp(t, 'cache-bob');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
  }, 120_000);

  afterAll(async () => {
    for (const id of created) {
      await dockerClient()
        .getContainer(cacheContainerName(id))
        .remove({ force: true })
        .catch(() => undefined);
    }
    await t?.close();
  });

  it('provisions a cache that answers SET/GET with its password only, sized by memory_mb', async (ctx) => {
    docker.require(ctx);
    const accepted = await sdk.POST('/caches', { body: { name: 'sessions', memory_mb: 64 } });
    expect(accepted.response.status).toBe(202);
    const cache = unwrap(accepted);
    created.push(cache.id);
    expect(cache).toMatchObject({ name: 'sessions', memory_mb: 64, status: 'CREATING' });

    const running = await until('RUNNING', async () => {
      const c = unwrap(await sdk.GET('/caches/{id}', { params: { path: { id: cache.id } } }));
      if (c.status === 'FAILED') throw new Error(`cache failed: ${c.failure_reason}`);
      return c.status === 'RUNNING' ? c : undefined;
    });
    expect(running.endpoint).toMatchObject({ host: '127.0.0.1' });
    expect(itemsOf(unwrap(await sdk.GET('/caches'))).map((c) => c.id)).toEqual([cache.id]);

    const conn = unwrap(
      await sdk.GET('/caches/{id}/connection', { params: { path: { id: cache.id } } }),
    );
    expect(conn.url).toBe(`redis://default:${conn.password}@127.0.0.1:${conn.port}/0`);
    const name = cacheContainerName(cache.id);
    expect(await redisCli(name, conn.url, 'SET', 'greeting', 'hello')).toBe('OK');
    expect(await redisCli(name, conn.url, 'GET', 'greeting')).toBe('hello');
    const wrongUrl = `redis://default:not-the-password@127.0.0.1:${conn.port}/0`;
    expect(await redisCli(name, wrongUrl, 'GET', 'greeting')).toMatch(/NOAUTH|WRONGPASS/);

    const client = new Redis({
      host: '127.0.0.1',
      port: conn.port,
      password: conn.password,
      lazyConnect: true,
    });
    await client.connect();
    try {
      expect(await client.get('greeting')).toBe('hello');
      expect(await client.config('GET', 'maxmemory')).toEqual([
        'maxmemory',
        String(64 * 1024 * 1024),
      ]);
    } finally {
      client.disconnect();
    }
    const bad = new Redis({
      host: '127.0.0.1',
      port: conn.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    bad.on('error', () => undefined);
    await bad.connect();
    await expect(bad.get('greeting')).rejects.toThrow(/NOAUTH/);
    await expect(bad.auth('default', 'wrong')).rejects.toThrow(/WRONGPASS/);
    bad.disconnect();

    const inspected = await dockerClient().getContainer(name).inspect();
    expect(inspected.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspected.HostConfig.NetworkMode).toBe('host');
    expect(inspected.Config.Env?.join(' ')).not.toContain(conn.password);

    const stats = unwrap(
      await sdk.GET('/caches/{id}/stats', { params: { path: { id: cache.id } } }),
    );
    expect(stats).toMatchObject({ keys: 1, maxmemory_bytes: 64 * 1024 * 1024 });
    expect(stats.redis_version).toMatch(/^7\./);

    unwrap(await sdk.POST('/caches/{id}/flush', { params: { path: { id: cache.id } } }));
    expect(await redisCli(name, conn.url, 'DBSIZE')).toBe('0');

    // The password is a managed secret: listed, not changeable through /secrets.
    const secret = unwrap(
      await sdk.GET('/secrets/{id}', { params: { path: { id: conn.secret_id } } }),
    );
    expect(secret.managed_by).toEqual({ kind: 'cache', id: cache.id });
    const refused = await sdk.DELETE('/secrets/{id}', { params: { path: { id: conn.secret_id } } });
    expect(refused.response.status).toBe(409);

    // Another tenant sees nothing.
    const bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
    for (const res of [
      await bobSdk.GET('/caches/{id}', { params: { path: { id: cache.id } } }),
      await bobSdk.GET('/caches/{id}/connection', { params: { path: { id: cache.id } } }),
      await bobSdk.DELETE('/caches/{id}', { params: { path: { id: cache.id } } }),
    ]) {
      expect(res.response.status).toBe(404);
    }

    const deleting = await sdk.DELETE('/caches/{id}', { params: { path: { id: cache.id } } });
    expect(deleting.response.status).toBe(202);
    await until('the cache gone', async () => {
      const res = await sdk.GET('/caches/{id}', { params: { path: { id: cache.id } } });
      return res.response.status === 404 ? true : undefined;
    });
    await expect(dockerClient().getContainer(name).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    const secretGone = await sdk.GET('/secrets/{id}', { params: { path: { id: conn.secret_id } } });
    expect(secretGone.response.status).toBe(404);

    // Billed by size: the memory's own usage (uuid v5 of <id>/memory) in MiB at a GiB-hour price,
    // beside the flat cache-hour, over the same interval.
    const usageOf = async (resourceId: string) =>
      itemsOf(
        unwrap(await sdk.GET('/billing/usage', { params: { query: { resource_id: resourceId } } })),
      );
    const [flat] = await until('the cache-hour usage', async () => {
      const rows = await usageOf(cache.id);
      return rows.length > 0 ? rows : undefined;
    });
    const [memory] = await until('the memory usage', async () => {
      const rows = await usageOf(uuidV5(`${cache.id}/memory`));
      return rows.length > 0 ? rows : undefined;
    });
    expect(flat).toMatchObject({ unit: 'cache-hour', quantity: 1, unit_price: 0.02 });
    expect(memory).toMatchObject({
      resource_type: 'compute',
      unit: 'GB-hour',
      quantity: 64,
      unit_price: 0.01,
      description: 'Memory of cache sessions (64 MiB)',
      start: flat?.start,
      end: flat?.end,
    });
  }, 600_000);

  it('rejects bad input with a stable code and appends nothing', async (ctx) => {
    docker.require(ctx);
    const before = await countEvents(t, ['AccessDenied']);
    const cases: Array<[object, number, string]> = [
      [{ name: 'tiny', memory_mb: 8 }, 400, 'validation_error'],
      [{ name: 'huge', memory_mb: 1 << 20 }, 400, 'validation_error'],
      [{ name: 'Bad_Name', memory_mb: 64 }, 400, 'validation_error'],
      [{ name: 'no-size' }, 400, 'validation_error'],
      [{ name: 'frac', memory_mb: 64.5 }, 400, 'validation_error'],
    ];
    for (const [body, status, code] of cases) {
      const res = await conformingHttp(t).post('/caches').set('x-api-key', alice.apiKey).send(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const path of [`/caches/${missing}/flush`]) {
      const res = await conformingHttp(t).post(path).set('x-api-key', alice.apiKey).send({});
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });
});
