/**
 * Databases on real Docker through the generated SDK, checked with Debian's psql on the host:
 * PostgreSQL 15 (nimbus/postgres:15) with pgbouncer; rows written through the returned
 * connection string are read back; allow-listed parameters are in force; rotating the
 * credentials makes the old password fail and the new one work, through pgbouncer and directly;
 * stop and start keep the data; pooling toggles; storage only grows; delete removes containers
 * and volume. Bad input appends nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  databaseContainerName,
  databaseVolumeName,
  exporterContainerName,
  poolerContainerName,
} from '../../src/drivers/engines/postgres-engine';
import { uuidV5 } from '../../src/common/ids';
import { createNimbusClient, itemsOf, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';
import { psql, psqlError, removeDatabaseEngines, until } from './data.helpers';

const docker = realDocker();

/** The exporter's metrics once it answers with the server's (it starts after its container). */
async function scrape(url: string): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const res = await fetch(url);
      last = await res.text();
      if (res.ok && /^pg_up /m.test(last)) return last;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no metrics at ${url}: ${last.slice(0, 300)}`);
}

describe('databases on real Docker (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let sdk: NimbusClient;
  const created: string[] = [];

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'data_databases' });
    alice = await signUp(t, 'db-alice');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
  }, 120_000);

  afterAll(async () => {
    await removeDatabaseEngines(created);
    await t?.close();
  });

  const path = (id: string) => ({ params: { path: { id } } });

  it('provisions, writes and reads with psql, rotates, stops and starts, modifies, deletes', async (ctx) => {
    docker.require(ctx);
    const accepted = await sdk.POST('/databases', {
      body: {
        name: 'orders',
        engine: 'postgres',
        version: '15',
        allocated_storage: 5,
        pooling_enabled: true,
        metrics_enabled: true,
        parameters: { max_connections: '50', work_mem: '8MB' },
      },
    });
    expect(accepted.response.status).toBe(202);
    const db = unwrap(accepted);
    created.push(db.id);
    expect(db).toMatchObject({ name: 'orders', status: 'CREATING', role: 'PRIMARY' });

    const running = await until('RUNNING', async () => {
      const d = unwrap(await sdk.GET('/databases/{id}', path(db.id)));
      if (d.status === 'FAILED') throw new Error(`database failed: ${d.failure_reason}`);
      return d.status === 'RUNNING' ? d : undefined;
    });
    expect(running.endpoint?.pooler_port).toEqual(expect.any(Number));
    // The exporter sidecar answers Prometheus text about this server.
    const metricsUrl = running.endpoint?.metrics_url as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await scrape(metricsUrl)).toMatch(/^pg_up 1$/m);

    const first = unwrap(await sdk.GET('/databases/{id}/connection', path(db.id)));
    expect(first.pooled).toBe(true);
    expect(first.port).toBe(running.endpoint?.pooler_port);
    const direct = (c: typeof first) =>
      c.connection_string.replace(`:${c.port}/`, `:${c.direct_port}/`);
    await psql(first.connection_string, 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
    await psql(first.connection_string, "INSERT INTO orders VALUES (1, 'apple'), (2, 'pear')");
    expect(await psql(direct(first), 'SELECT item FROM orders ORDER BY id')).toBe('apple\npear');
    expect(await psql(direct(first), 'SHOW max_connections')).toBe('50');
    expect(await psql(direct(first), 'SHOW work_mem')).toBe('8MB');

    // Rotation: the old password stops working through pgbouncer and directly.
    unwrap(await sdk.POST('/databases/{id}/rotate-credentials', path(db.id)));
    const second = unwrap(await sdk.GET('/databases/{id}/connection', path(db.id)));
    expect(second.password).not.toBe(first.password);
    expect(await psqlError(first.connection_string, 'SELECT 1')).toMatch(
      /password authentication failed|SASL/,
    );
    expect(await psqlError(direct(first), 'SELECT 1')).toMatch(/password authentication failed/);
    expect(await psql(second.connection_string, 'SELECT count(*) FROM orders')).toBe('2');
    expect(await psql(direct(second), 'SELECT count(*) FROM orders')).toBe('2');

    // Stop and start keep the data.
    unwrap(await sdk.POST('/databases/{id}/stop', path(db.id)));
    expect(unwrap(await sdk.GET('/databases/{id}', path(db.id))).status).toBe('STOPPED');
    await psqlError(direct(second), 'SELECT 1');
    const again = await sdk.POST('/databases/{id}/stop', path(db.id));
    expect(again.response.status).toBe(200);
    unwrap(await sdk.POST('/databases/{id}/start', path(db.id)));
    expect(await psql(second.connection_string, 'SELECT item FROM orders WHERE id = 2')).toBe(
      'pear',
    );
    const startRunning = await sdk.POST('/databases/{id}/start', path(db.id));
    expect(startRunning.response.status).toBe(200);
    expect(await scrape(metricsUrl)).toMatch(/^pg_up 1$/m);

    // Modify: parameters with a reload and a restart, storage grows, pooling off.
    const modified = unwrap(
      await sdk.PATCH('/databases/{id}', {
        ...path(db.id),
        body: {
          allocated_storage: 8,
          pooling_enabled: false,
          metrics_enabled: false,
          parameters: { max_connections: '60', work_mem: '16MB' },
        },
      }),
    );
    expect(modified).toMatchObject({
      allocated_storage: 8,
      pooling_enabled: false,
      metrics_enabled: false,
      endpoint: { metrics_url: null },
    });
    await expect(
      dockerClient().getContainer(exporterContainerName(db.id)).inspect(),
    ).rejects.toMatchObject({ statusCode: 404 });
    const third = unwrap(await sdk.GET('/databases/{id}/connection', path(db.id)));
    expect(third.pooled).toBe(false);
    expect(third.port).toBe(third.direct_port);
    expect(await psql(third.connection_string, 'SHOW max_connections')).toBe('60');
    expect(await psql(third.connection_string, 'SHOW work_mem')).toBe('16MB');
    await expect(
      dockerClient().getContainer(poolerContainerName(db.id)).inspect(),
    ).rejects.toMatchObject({
      statusCode: 404,
    });

    const before = await countEvents(t, ['AccessDenied']);
    for (const body of [
      { allocated_storage: 4 },
      { parameters: { fsync: 'off' } },
      { parameters: { work_mem: "1MB'" } },
    ]) {
      const res = await t
        .http()
        .patch(`/databases/${db.id}`)
        .set('x-api-key', alice.apiKey)
        .send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    const deleting = await sdk.DELETE('/databases/{id}', path(db.id));
    expect(deleting.response.status).toBe(202);
    await until('the database gone', async () => {
      const res = await sdk.GET('/databases/{id}', path(db.id));
      return res.response.status === 404 ? true : undefined;
    });
    await expect(
      dockerClient().getContainer(databaseContainerName(db.id)).inspect(),
    ).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(
      dockerClient().getVolume(databaseVolumeName(db.id)).inspect(),
    ).rejects.toMatchObject({
      statusCode: 404,
    });

    // Billed by size: the allocated storage's own usage (uuid v5 of <id>/storage), 5 GB from the
    // request, 8 GB from the PATCH that grew it, until the delete started.
    const storageId = uuidV5(`${db.id}/storage`);
    const storage = await until('the storage usage', async () => {
      const rows = itemsOf(
        unwrap(await sdk.GET('/billing/usage', { params: { query: { resource_id: storageId } } })),
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(storage.map((r) => r.quantity)).toEqual([5, 8]);
    expect(storage[0]).toMatchObject({
      resource_type: 'storage',
      unit: 'GB-hour',
      unit_price: 0.00016,
      description: 'Storage of database orders (5 GB)',
    });
    expect(storage[1]?.description).toBe('Storage of database orders (8 GB)');
    expect(storage[0]?.end).toBe(storage[1]?.start);
  }, 900_000);

  it('rejects bad input with a stable code and appends nothing', async (ctx) => {
    docker.require(ctx);
    const before = await countEvents(t, ['AccessDenied']);
    const good = { name: 'bad-input', engine: 'postgres', version: '15', allocated_storage: 5 };
    const cases: Array<[object, string]> = [
      [{ ...good, engine: 'mysql' }, 'engine'],
      [{ ...good, version: '9' }, 'version'],
      [{ ...good, allocated_storage: 0 }, 'allocated_storage'],
      [{ ...good, parameters: { fsync: 'off' } }, 'parameters.fsync'],
      [{ ...good, parameters: { max_connections: '100000' } }, 'parameters.max_connections'],
      [{ ...good, name: 'Bad Name' }, 'name'],
    ];
    for (const [body, field] of cases) {
      const res = await conformingHttp(t)
        .post('/databases')
        .set('x-api-key', alice.apiKey)
        .send(body);
      expect(res.status, field).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(JSON.stringify(res.body.error.details)).toContain(field);
    }
    const missing = '00000000-0000-4000-8000-000000000000';
    const res = await t
      .http()
      .post(`/databases/${missing}/stop`)
      .set('x-api-key', alice.apiKey)
      .send({});
    expect(res.status).toBe(404);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });
});
