/**
 * Streaming replicas on real Docker through the generated SDK, checked with Debian's psql on the
 * host: rows written on a primary are read on its replica (pg_basebackup through a physical
 * slot, then streaming), the replica refuses writes, its lag is read from the primary; promote
 * makes it a standalone primary that accepts writes while the old primary keeps working and
 * loses the slot; deleting a replica removes its container, volume and slot. Bad input (promote
 * of a primary, a replica of a replica or of a STOPPED database, an unknown id, another tenant's
 * database, a primary that still has replicas) is a 4xx with a stable code and appends nothing.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { replicationSlotName } from '../../src/data/ports/credentials';
import {
  databaseContainerName,
  databaseVolumeName,
} from '../../src/drivers/engines/postgres-engine';
import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { countEvents, signUp, type Account } from './identity.helpers';
import { psql, psqlError, removeDatabaseEngines, until } from './data.helpers';

const docker = realDocker();

describe('database replicas on real Docker (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let sdk: NimbusClient;
  let bobSdk: NimbusClient;
  const created: string[] = [];

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'data_replicas' });
    alice = await signUp(t, 'replica-alice');
    bob = await signUp(t, 'replica-bob');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
  }, 120_000);

  afterAll(async () => {
    await removeDatabaseEngines(created);
    await t?.close();
  });

  const path = (id: string) => ({ params: { path: { id } } });

  async function running(id: string) {
    return until(`${id} RUNNING`, async () => {
      const d = unwrap(await sdk.GET('/databases/{id}', path(id)));
      if (d.status === 'FAILED') throw new Error(`database failed: ${d.failure_reason}`);
      return d.status === 'RUNNING' ? d : undefined;
    });
  }

  async function slots(connection: string): Promise<string[]> {
    const out = await psql(connection, 'SELECT slot_name FROM pg_replication_slots');
    return out === '' ? [] : out.split('\n');
  }

  it('replicates rows, refuses writes, reports lag, promotes to a writable primary', async (ctx) => {
    docker.require(ctx);
    const primary = unwrap(
      await sdk.POST('/databases', {
        body: { name: 'shop', engine: 'postgres', version: '15', allocated_storage: 2 },
      }),
    );
    created.push(primary.id);
    await running(primary.id);
    let primaryConn = unwrap(await sdk.GET('/databases/{id}/connection', path(primary.id)));
    await psql(primaryConn.connection_string, 'CREATE TABLE items (id int PRIMARY KEY, v text)');
    await psql(primaryConn.connection_string, "INSERT INTO items VALUES (1, 'one'), (2, 'two')");

    const postedAt = Date.now();
    const accepted = await sdk.POST('/databases/{id}/replicas', {
      ...path(primary.id),
      body: { name: 'shop-replica-1' },
    });
    expect(accepted.response.status).toBe(202);
    const replica = unwrap(accepted);
    created.push(replica.id);
    expect(replica).toMatchObject({
      status: 'CREATING',
      role: 'REPLICA',
      primary_id: primary.id,
    });
    const replicaRunning = await running(replica.id);
    console.log(`replica POST to RUNNING: ${Date.now() - postedAt} ms`);
    expect(replicaRunning).toMatchObject({ role: 'REPLICA', primary_id: primary.id });

    let replicaConn = unwrap(await sdk.GET('/databases/{id}/connection', path(replica.id)));
    expect(replicaConn.database).toBe(primaryConn.database);
    expect(await psql(replicaConn.connection_string, 'SELECT v FROM items ORDER BY id')).toBe(
      'one\ntwo',
    );
    expect(await psql(replicaConn.connection_string, 'SELECT pg_is_in_recovery()')).toBe('t');
    // Rows written after the copy arrive by streaming.
    await psql(primaryConn.connection_string, "INSERT INTO items VALUES (3, 'three')");
    await until('row 3 on the replica', async () =>
      (await psql(replicaConn.connection_string, 'SELECT count(*) FROM items')) === '3'
        ? true
        : undefined,
    );
    expect(
      await psqlError(replicaConn.connection_string, "INSERT INTO items VALUES (4, 'four')"),
    ).toMatch(/read-only transaction/);
    expect(await slots(primaryConn.connection_string)).toEqual([replicationSlotName(replica.id)]);

    const lag = await until('a streaming replica', async () => {
      const r = unwrap(await sdk.GET('/databases/{id}/replication', path(replica.id)));
      return r.replication_state === 'streaming' && r.replication_lag_bytes !== null
        ? r
        : undefined;
    });
    console.log(
      `replica lag: ${lag.replication_lag_bytes} bytes, ${lag.replication_lag_seconds} s`,
    );
    expect(lag).toMatchObject({ role: 'REPLICA', primary_id: primary.id });
    expect(lag.replication_lag_bytes).toBeGreaterThanOrEqual(0);
    expect(unwrap(await sdk.GET('/databases/{id}/replication', path(primary.id)))).toMatchObject({
      role: 'PRIMARY',
      primary_id: null,
      replication_lag_bytes: null,
    });

    // Rotation: not of a replica (it carries its primary's roles: 409); the primary's new
    // password reaches the replica through the WAL, and its connection string through its secret.
    const rotateReplica = await sdk.POST('/databases/{id}/rotate-credentials', path(replica.id));
    expect(rotateReplica.response.status).toBe(409);
    expect(rotateReplica.error?.error.code).toBe('invalid_state');
    unwrap(await sdk.POST('/databases/{id}/rotate-credentials', path(primary.id)));
    const oldReplicaConn = replicaConn.connection_string;
    primaryConn = unwrap(await sdk.GET('/databases/{id}/connection', path(primary.id)));
    replicaConn = unwrap(await sdk.GET('/databases/{id}/connection', path(replica.id)));
    expect(replicaConn.connection_string).not.toBe(oldReplicaConn);
    await until('the rotated password on the replica', async () =>
      psql(replicaConn.connection_string, 'SELECT 1').then(
        () => true,
        () => undefined,
      ),
    );
    expect(await psqlError(oldReplicaConn, 'SELECT 1')).toMatch(/password authentication failed/);
    expect(await psql(primaryConn.connection_string, 'SELECT count(*) FROM items')).toBe('3');

    // Stopping a replica or deleting a primary with replicas: 409, nothing appended.
    const before = await countEvents(t, ['AccessDenied']);
    const stop = await sdk.POST('/databases/{id}/stop', path(replica.id));
    expect(stop.response.status).toBe(409);
    expect(stop.error?.error.code).toBe('invalid_state');
    const deletePrimary = await sdk.DELETE('/databases/{id}', path(primary.id));
    expect(deletePrimary.response.status).toBe(409);
    expect(deletePrimary.error?.error.code).toBe('dependency_violation');
    const ofReplica = await sdk.POST('/databases/{id}/replicas', {
      ...path(replica.id),
      body: { name: 'chained' },
    });
    expect(ofReplica.response.status).toBe(409);
    expect(ofReplica.error?.error.code).toBe('invalid_state');
    const promotePrimary = await sdk.POST('/databases/{id}/promote', path(primary.id));
    expect(promotePrimary.response.status).toBe(409);
    expect(promotePrimary.error?.error.code).toBe('invalid_state');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    // Promote: a standalone primary that accepts writes; the old one keeps working, slot gone.
    const promoted = unwrap(await sdk.POST('/databases/{id}/promote', path(replica.id)));
    expect(promoted).toMatchObject({ role: 'PRIMARY', primary_id: null, status: 'RUNNING' });
    await psql(replicaConn.connection_string, "INSERT INTO items VALUES (10, 'promoted')");
    expect(await psql(replicaConn.connection_string, 'SELECT pg_is_in_recovery()')).toBe('f');
    await psql(primaryConn.connection_string, "INSERT INTO items VALUES (20, 'old primary')");
    expect(await psql(primaryConn.connection_string, 'SELECT id FROM items ORDER BY id')).toBe(
      '1\n2\n3\n20',
    );
    expect(await psql(replicaConn.connection_string, 'SELECT id FROM items ORDER BY id')).toBe(
      '1\n2\n3\n10',
    );
    expect(await slots(primaryConn.connection_string)).toEqual([]);
    const log = new Client({ connectionString: t.database.url });
    await log.connect();
    const audit = await log
      .query<{ event_type: string }>(
        'SELECT event_type FROM events WHERE stream_id = $1 ORDER BY global_position',
        [`database-${replica.id}`],
      )
      .finally(() => log.end());
    expect(audit.rows.map((r) => r.event_type)).toEqual([
      'DatabaseReplicaCreated',
      'DatabaseRunning',
      'DatabasePromoted',
    ]);

    // A second replica, deleted: container, volume and slot go.
    const second = unwrap(
      await sdk.POST('/databases/{id}/replicas', {
        ...path(primary.id),
        body: { name: 'shop-replica-2' },
      }),
    );
    created.push(second.id);
    await running(second.id);
    expect(await slots(primaryConn.connection_string)).toEqual([replicationSlotName(second.id)]);
    expect((await sdk.DELETE('/databases/{id}', path(second.id))).response.status).toBe(202);
    await until('the replica gone', async () =>
      (await sdk.GET('/databases/{id}', path(second.id))).response.status === 404
        ? true
        : undefined,
    );
    expect(await slots(primaryConn.connection_string)).toEqual([]);
    await expect(
      dockerClient().getContainer(databaseContainerName(second.id)).inspect(),
    ).rejects.toMatchObject({ statusCode: 404 });
    await expect(
      dockerClient().getVolume(databaseVolumeName(second.id)).inspect(),
    ).rejects.toMatchObject({ statusCode: 404 });
  }, 900_000);

  it('refuses replicas of a STOPPED, unknown or foreign database; appends nothing', async (ctx) => {
    docker.require(ctx);
    const db = unwrap(
      await sdk.POST('/databases', {
        body: { name: 'stopped-src', engine: 'postgres', version: '15', allocated_storage: 1 },
      }),
    );
    created.push(db.id);
    await running(db.id);
    unwrap(await sdk.POST('/databases/{id}/stop', path(db.id)));
    const before = await countEvents(t, ['AccessDenied']);
    const ofStopped = await sdk.POST('/databases/{id}/replicas', {
      ...path(db.id),
      body: { name: 'r1' },
    });
    expect(ofStopped.response.status).toBe(409);
    expect(ofStopped.error?.error.code).toBe('invalid_state');
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [client, id] of [
      [sdk, missing],
      [bobSdk, db.id],
    ] as const) {
      const replicaOf = await client.POST('/databases/{id}/replicas', {
        ...path(id),
        body: { name: 'r2' },
      });
      expect(replicaOf.response.status).toBe(404);
      expect(replicaOf.error?.error.code).toBe('not_found');
      const promote = await client.POST('/databases/{id}/promote', path(id));
      expect(promote.response.status).toBe(404);
      const replication = await client.GET('/databases/{id}/replication', path(id));
      expect(replication.response.status).toBe(404);
    }
    const badName = await sdk.POST('/databases/{id}/replicas', {
      ...path(db.id),
      body: { name: 'Bad Name' },
    });
    expect(badName.response.status).toBe(400);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  }, 600_000);
});
