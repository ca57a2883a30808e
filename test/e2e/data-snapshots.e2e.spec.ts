/**
 * Database snapshots and restore on real Docker through the generated SDK, checked with Debian's
 * psql: rows written, a snapshot taken (pg_dump -Fc, its file's size and SHA-256 recorded), more
 * rows written, the snapshot restored into a new database that holds exactly the rows at
 * snapshot time while the source keeps all of them; the snapshot outlives its deleted database
 * and restores again; a tampered file fails the restore (FAILED, nothing left); bad input and
 * another tenant are 4xx with a stable code and append nothing. A delete with a final snapshot
 * takes it before the engine goes, and stops (the database RUNNING again) when it cannot.
 */
import { execFile } from 'node:child_process';
import { appendFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseContainerName } from '../../src/drivers/engines/postgres-engine';
import { createNimbusClient, itemsOf, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { countEvents, signUp } from './identity.helpers';
import { psql, removeDatabaseEngines, until } from './data.helpers';

const run = promisify(execFile);
const docker = realDocker();

const SNAPSHOT_EVENTS = ['DatabaseSnapshotStarted', 'DatabaseCreated'];

describe('database snapshots and restore on real Docker (e2e)', () => {
  let t: TestApp;
  let sdk: NimbusClient;
  let bob: NimbusClient;
  const created: string[] = [];
  const path = (id: string) => ({ params: { path: { id } } });

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'data_snapshots' });
    const alice = await signUp(t, 'snap-alice');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    bob = createNimbusClient({ endpoint: t.baseUrl, apiKey: (await signUp(t, 'snap-bob')).apiKey });
  }, 120_000);

  afterAll(async () => {
    await removeDatabaseEngines(created);
    await t?.close();
  });

  async function settledDatabase(id: string) {
    return until(`database ${id} settled`, async () => {
      const db = unwrap(await sdk.GET('/databases/{id}', path(id)));
      return db.status === 'RUNNING' || db.status === 'FAILED' ? db : undefined;
    });
  }

  async function settledSnapshot(id: string) {
    return until(`snapshot ${id} settled`, async () => {
      const s = unwrap(await sdk.GET('/database-snapshots/{id}', path(id)));
      return s.status === 'creating' ? undefined : s;
    });
  }

  async function connectionOf(id: string): Promise<string> {
    return unwrap(await sdk.GET('/databases/{id}/connection', path(id))).connection_string;
  }

  async function restore(snapshotId: string, name: string) {
    const res = await sdk.POST('/database-snapshots/{id}/restore', {
      ...path(snapshotId),
      body: { name },
    });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const db = unwrap(res);
    created.push(db.id);
    return settledDatabase(db.id);
  }

  it('snapshots a database and restores exactly its rows into a new one, also after the source is deleted', async (ctx) => {
    docker.require(ctx);
    const source = unwrap(
      await sdk.POST('/databases', {
        body: {
          name: 'ledger',
          engine: 'postgres',
          version: '15',
          allocated_storage: 3,
          parameters: { work_mem: '8MB' },
        },
      }),
    );
    created.push(source.id);
    expect((await settledDatabase(source.id)).status).toBe('RUNNING');
    const sourceConn = await connectionOf(source.id);
    await psql(sourceConn, 'CREATE TABLE entries (id int PRIMARY KEY, note text)');
    await psql(
      sourceConn,
      "INSERT INTO entries SELECT g, 'row ' || g FROM generate_series(1, 500) g",
    );

    let started = Date.now();
    const accepted = await sdk.POST('/databases/{id}/snapshots', {
      ...path(source.id),
      body: { name: 'before-more' },
    });
    expect(accepted.response.status).toBe(202);
    expect(unwrap(accepted)).toMatchObject({ status: 'creating', database_id: source.id });
    const snapshot = await settledSnapshot(unwrap(accepted).id);
    const snapshotMs = Date.now() - started;
    expect(snapshot).toMatchObject({
      status: 'available',
      name: 'before-more',
      database_name: 'ledger',
      engine: 'postgres',
      version: '15',
      allocated_storage: 3,
      failure_reason: null,
    });
    expect(snapshot.sha256).toMatch(/^[0-9a-f]{64}$/);
    const file = join(t.config.dataDir, 'database-snapshots', `${snapshot.id}.tar`);
    expect((await stat(file)).size).toBe(snapshot.size_bytes);

    await psql(sourceConn, "INSERT INTO entries VALUES (501, 'after the snapshot')");

    started = Date.now();
    const restored = await restore(snapshot.id, 'ledger-restored');
    const restoreMs = Date.now() - started;
    console.log(
      `snapshot of 500 rows: ${snapshot.size_bytes} bytes in ${snapshotMs} ms; restore to RUNNING in ${restoreMs} ms`,
    );
    expect(restored).toMatchObject({ status: 'RUNNING', allocated_storage: 3 });
    expect(restored.parameters).toEqual({ work_mem: '8MB' });
    const restoredConn = await connectionOf(restored.id);
    expect(await psql(restoredConn, 'SELECT count(*), max(id) FROM entries')).toBe('500|500');
    expect(await psql(sourceConn, 'SELECT count(*) FROM entries')).toBe('501');
    // The restored tables belong to the new database's owner: it writes to them.
    await psql(restoredConn, "INSERT INTO entries VALUES (900, 'restored and writable')");

    const listed = itemsOf(unwrap(await sdk.GET('/databases/{id}/snapshots', path(source.id))));
    expect(listed.map((s) => s.id)).toEqual([snapshot.id]);

    // The snapshot outlives its database, and restores again.
    expect((await sdk.DELETE('/databases/{id}', path(source.id))).response.status).toBe(202);
    await until('the source gone', async () =>
      (await sdk.GET('/databases/{id}', path(source.id))).response.status === 404
        ? true
        : undefined,
    );
    expect(unwrap(await sdk.GET('/database-snapshots/{id}', path(snapshot.id))).status).toBe(
      'available',
    );
    const again = await restore(snapshot.id, 'ledger-again');
    expect(again.status).toBe('RUNNING');
    expect(await psql(await connectionOf(again.id), 'SELECT count(*) FROM entries')).toBe('500');

    // Another tenant sees none of it (404), and appends nothing.
    const before = await countEvents(t, SNAPSHOT_EVENTS);
    for (const res of [
      await bob.GET('/database-snapshots/{id}', path(snapshot.id)),
      await bob.DELETE('/database-snapshots/{id}', path(snapshot.id)),
      await bob.POST('/database-snapshots/{id}/restore', {
        ...path(snapshot.id),
        body: { name: 'stolen' },
      }),
      await bob.POST('/databases/{id}/snapshots', {
        ...path(restored.id),
        body: { name: 'stolen' },
      }),
    ]) {
      expect(res.response.status).toBe(404);
    }
    expect(await countEvents(t, SNAPSHOT_EVENTS)).toBe(before);

    // Delete: the file goes, the snapshot is 404 afterwards.
    expect((await sdk.DELETE('/database-snapshots/{id}', path(snapshot.id))).response.status).toBe(
      200,
    );
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await sdk.GET('/database-snapshots/{id}', path(snapshot.id))).response.status).toBe(
      404,
    );
  }, 900_000);

  it('a tampered snapshot file fails its restore (FAILED, nothing left); bad input is 4xx and appends nothing', async (ctx) => {
    docker.require(ctx);
    const source = unwrap(
      await sdk.POST('/databases', {
        body: { name: 'small', engine: 'postgres', version: '15', allocated_storage: 2 },
      }),
    );
    created.push(source.id);
    expect((await settledDatabase(source.id)).status).toBe('RUNNING');
    const snapshot = await settledSnapshot(
      unwrap(
        await sdk.POST('/databases/{id}/snapshots', { ...path(source.id), body: { name: 'one' } }),
      ).id,
    );
    expect(snapshot.status).toBe('available');

    const before = await countEvents(t, SNAPSHOT_EVENTS);
    const refused: Array<[Promise<{ response: Response; error?: unknown }>, number, string]> = [
      [
        sdk.POST('/databases/{id}/snapshots', { ...path(source.id), body: { name: 'Bad Name' } }),
        400,
        'validation_error',
      ],
      [
        sdk.POST('/databases/{id}/snapshots', {
          ...path('00000000-0000-4000-8000-000000000000'),
          body: { name: 'none' },
        }),
        404,
        'not_found',
      ],
      [
        sdk.POST('/database-snapshots/{id}/restore', {
          ...path(snapshot.id),
          body: { name: 'too-small', allocated_storage: 1 },
        }),
        400,
        'validation_error',
      ],
      [
        sdk.POST('/database-snapshots/{id}/restore', {
          ...path('00000000-0000-4000-8000-000000000000'),
          body: { name: 'nothing' },
        }),
        404,
        'not_found',
      ],
    ];
    for (const [call, status, code] of refused) {
      const res = (await call) as { response: Response; error?: { error: { code: string } } };
      expect(res.response.status).toBe(status);
      expect(res.error?.error.code).toBe(code);
    }
    expect(await countEvents(t, SNAPSHOT_EVENTS)).toBe(before);

    await appendFile(join(t.config.dataDir, 'database-snapshots', `${snapshot.id}.tar`), 'x');
    const failed = await restore(snapshot.id, 'from-tampered');
    expect(failed.status).toBe('FAILED');
    expect(failed.failure_reason).toMatch(/does not match its recorded SHA-256/);
    await expect(
      dockerClient().getContainer(databaseContainerName(failed.id)).inspect(),
    ).rejects.toMatchObject({ statusCode: 404 });
  }, 900_000);

  it('a delete with a final snapshot keeps the data (restorable after the database is gone); when the snapshot cannot be taken the delete stops and the database runs on', async (ctx) => {
    docker.require(ctx);
    const db = unwrap(
      await sdk.POST('/databases', {
        body: { name: 'journal', engine: 'postgres', version: '15', allocated_storage: 2 },
      }),
    );
    created.push(db.id);
    expect((await settledDatabase(db.id)).status).toBe('RUNNING');
    const conn = await connectionOf(db.id);
    await psql(conn, 'CREATE TABLE lines (id int PRIMARY KEY)');
    await psql(conn, 'INSERT INTO lines SELECT generate_series(1, 42)');
    const deleteWith = (name: string) =>
      sdk.DELETE('/databases/{id}', {
        params: { path: { id: db.id }, query: { final_snapshot_name: name } },
      });

    // Refused: a bad name (400), a database that is not RUNNING (409); nothing appended.
    expect((await sdk.POST('/databases/{id}/stop', path(db.id))).response.status).toBe(200);
    const before = await countEvents(t);
    const badName = await deleteWith('Not A Name');
    expect(badName.response.status).toBe(400);
    expect(badName.error?.error.code).toBe('validation_error');
    const stopped = await deleteWith('while-stopped');
    expect(stopped.response.status).toBe(409);
    expect(stopped.error?.error.code).toBe('invalid_state');
    expect(stopped.error?.error.message).toMatch(/final snapshot is taken of a RUNNING database/);
    expect(await countEvents(t)).toBe(before);
    expect((await sdk.POST('/databases/{id}/start', path(db.id))).response.status).toBe(200);

    // pg_dump cannot run: the delete stops, the snapshot is failed, the database RUNNING with its rows.
    const pgDump = '/usr/lib/postgresql/15/bin/pg_dump';
    const container = databaseContainerName(db.id);
    await run('docker', ['exec', '-u', 'root', container, 'chmod', '000', pgDump]);
    const doomed = await deleteWith('doomed');
    expect(doomed.response.status).toBe(202);
    const doomedId = unwrap(doomed).final_snapshot_id as string;
    expect(doomedId).toMatch(/^[0-9a-f-]{36}$/);
    const failedSnapshot = await settledSnapshot(doomedId);
    expect(failedSnapshot).toMatchObject({ status: 'failed', final: true, name: 'doomed' });
    expect(failedSnapshot.failure_reason).toMatch(/pg_dump/);
    const runningAgain = await until('the delete aborted', async () => {
      const found = unwrap(await sdk.GET('/databases/{id}', path(db.id)));
      return found.status === 'RUNNING' ? found : undefined;
    });
    expect(runningAgain.id).toBe(db.id);
    expect(await psql(conn, 'SELECT count(*) FROM lines')).toBe('42');
    await run('docker', ['exec', '-u', 'root', container, 'chmod', '755', pgDump]);

    // Taken: the database goes, its final snapshot stays and restores its rows.
    const started = Date.now();
    const accepted = await deleteWith('journal-final');
    expect(accepted.response.status).toBe(202);
    const finalId = unwrap(accepted).final_snapshot_id as string;
    await until('the database gone', async () =>
      (await sdk.GET('/databases/{id}', path(db.id))).response.status === 404 ? true : undefined,
    );
    console.log(`delete with a final snapshot of 42 rows: gone in ${Date.now() - started} ms`);
    const finalSnapshot = unwrap(await sdk.GET('/database-snapshots/{id}', path(finalId)));
    expect(finalSnapshot).toMatchObject({
      status: 'available',
      final: true,
      name: 'journal-final',
      database_id: db.id,
    });
    await expect(dockerClient().getContainer(container).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    const listed = itemsOf(unwrap(await sdk.GET('/databases/{id}/snapshots', path(db.id))));
    expect(listed.map((x) => [x.name, x.status])).toEqual([
      ['doomed', 'failed'],
      ['journal-final', 'available'],
    ]);
    const restored = await restore(finalId, 'journal-back');
    expect(restored.status).toBe('RUNNING');
    expect(await psql(await connectionOf(restored.id), 'SELECT count(*) FROM lines')).toBe('42');
  }, 900_000);
});
