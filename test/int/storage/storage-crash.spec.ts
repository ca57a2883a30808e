/**
 * Object storage killed mid-write (issue 11): the whole app in a child process on real
 * PostgreSQL and the filesystem blob store in a temporary data directory, SIGKILLed at named
 * points (src/common/crash-point.ts): a PUT mid-body (bytes partly in the temporary file), after
 * the blob is stored but before its version is appended, after the append but before the answer;
 * a multipart completion during the concatenation, after the assembled blob is written, after the
 * completion is recorded as started, after the version but before the upload's completion. A new
 * process on the same data directory and database removes the temporary files at start-up and
 * sweeps unreferenced blobs (grace period 0), then: GET shows the old object or the whole new
 * one, no temporary file is left, every blob on disk is referenced by metadata, and the retried
 * request ends in exactly one version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { ChildRun } from '../compute/fixtures/child-run';
import { forkTypeScript } from '../sagas/fixtures/fork-ts';
import type { StorageChildMessage } from './fixtures/storage-child';

const MIB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('object storage killed mid-write (child process, real PostgreSQL and file system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dataDir: string;
  let apiKey = '';
  let plain = '';
  let versioned = '';
  const running: ChildRun<StorageChildMessage>[] = [];
  const cleanTimes: Record<string, number> = {};
  const keyWaits: Record<string, number> = {};

  const spawnChild = (env: Record<string, string>) => {
    const child = new ChildRun<StorageChildMessage>(
      forkTypeScript(resolve('test/int/storage/fixtures/storage-child.ts'), {
        SC_DB_URL: db.url,
        SC_DB_NAME: db.name,
        SC_DATA_DIR: dataDir,
        NIMBUS_TEST_CRASH_POINT: '',
        ...env,
      }),
      'storage',
      120_000,
    );
    running.push(child);
    return child;
  };

  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        'x-api-key': apiKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  const putBytes = async (base: string, path: string, bytes: Buffer) => {
    const res = await fetch(`${base}${path}`, {
      method: 'PUT',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const getBytes = async (base: string, path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { 'x-api-key': apiKey } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  /** Starts the process a crash test runs against, killed at `point` (or never). */
  const start = async (point = '') => {
    const child = spawnChild({ NIMBUS_TEST_CRASH_POINT: point });
    const ready = await child.next('ready');
    return { child, base: ready.baseUrl };
  };

  /** A new process on the same data directory and database, cleaned up; its URL. */
  const restart = async (label: string) => {
    const before = Date.now();
    const child = spawnChild({ SC_SWEEP: '1' });
    const ready = await child.next('ready');
    cleanTimes[label] = Date.now() - before;
    return { child, base: ready.baseUrl, swept: ready.swept };
  };

  const listed = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const blobsOnDisk = (): string[] => {
    const root = join(dataDir, 'blobs', 'objects');
    return listed(root).flatMap((shard) => listed(join(root, shard)));
  };
  const temporaryFiles = (): string[] => listed(join(dataDir, 'blobs', 'tmp'));

  /** No temporary file; every blob on disk referenced by a version, a part or a completion. */
  const expectClean = async () => {
    expect(temporaryFiles()).toEqual([]);
    const onDisk = blobsOnDisk();
    const { rows } = await pool.query<{ blob_id: string }>(
      `SELECT blob_id::text FROM storage_object_versions WHERE blob_id = ANY($1::uuid[])
       UNION SELECT blob_id::text FROM storage_multipart_parts WHERE blob_id = ANY($1::uuid[])
       UNION SELECT completing_blob_id::text FROM storage_multipart_uploads
         WHERE completing_blob_id = ANY($1::uuid[])`,
      [onDisk],
    );
    expect(onDisk.filter((id) => !rows.some((r) => r.blob_id === id))).toEqual([]);
  };

  const versionsOf = async (base: string, bucket: string, key: string) => {
    const { json } = await call(base, 'GET', `/storage/versions/${bucket}/${key}`);
    return (json.versions as Array<{ version_id: string; delete_marker: boolean }>) ?? [];
  };

  beforeAll(async () => {
    db = await createTestDatabase('storage_crash');
    pool = new Pool({ connectionString: db.url, max: 2 });
    dataDir = mkdtempSync(join(tmpdir(), 'nimbus-storage-crash-'));
    const { child, base } = await start();
    const email = `crash-${randomUUID()}@example.com`;
    const password = 'Crash-Test-Passw0rd!';
    const reg = await call(base, 'POST', '/auth/register', { email, password, name: 'crash' });
    expect(reg.status).toBe(201);
    const login = await call(base, 'POST', '/auth/login', { email, password });
    apiKey = login.json.api_key as string;
    plain = `crash-plain-${randomUUID().slice(0, 8)}`;
    versioned = `crash-versioned-${randomUUID().slice(0, 8)}`;
    expect((await call(base, 'POST', '/storage/buckets', { name: plain })).status).toBe(201);
    expect((await call(base, 'POST', '/storage/buckets', { name: versioned })).status).toBe(201);
    const v = await call(base, 'PATCH', `/storage/buckets/${versioned}/versioning`, {
      enabled: true,
    });
    expect(v.status).toBe(200);
    await child.kill();
  }, 180_000);

  afterEach(async () => {
    for (const child of running.splice(0)) await child.ensureGone();
  });

  afterAll(async () => {
    console.log(`[storage-crash] restart-to-clean ms: ${JSON.stringify(cleanTimes)}`);
    console.log(
      `[storage-crash] Idempotency-Key held by the killed run, s: ${JSON.stringify(keyWaits)}`,
    );
    for (const child of running.splice(0)) await child.ensureGone();
    await pool?.end();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a PUT killed mid-body leaves the old object and no temporary file', async () => {
    const old = Buffer.from('the old bytes');
    const { child, base } = await start();
    expect((await putBytes(base, `/storage/${plain}/mid-body`, old)).status).toBe(200);
    const whole = Buffer.alloc(4 * MIB, 'n');
    const url = new URL(`${base}/storage/${plain}/mid-body`);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'PUT',
      headers: {
        'x-api-key': apiKey,
        'content-type': 'application/octet-stream',
        'content-length': String(whole.length),
      },
    });
    req.on('error', () => undefined);
    req.write(whole.subarray(0, 2 * MIB));
    // Killed once bytes are in the temporary file, the rest never sent.
    for (;;) {
      const partial = temporaryFiles().map((f) => statSync(join(dataDir, 'blobs', 'tmp', f)).size);
      if (partial.some((size) => size > 0)) break;
      await new Promise((wake) => setTimeout(wake, 10));
    }
    await child.kill();
    expect(temporaryFiles()).not.toEqual([]);

    const after = await restart('put-mid-body');
    const got = await getBytes(after.base, `/storage/${plain}/mid-body`);
    expect(got.bytes.equals(old)).toBe(true);
    await expectClean();
    expect((await putBytes(after.base, `/storage/${plain}/mid-body`, whole)).status).toBe(200);
    expect((await getBytes(after.base, `/storage/${plain}/mid-body`)).bytes.equals(whole)).toBe(
      true,
    );
    expect(await versionsOf(after.base, plain, 'mid-body')).toHaveLength(1);
    await expectClean();
  }, 180_000);

  for (const point of ['put-object-stored', 'put-object-recorded']) {
    it(`a PUT killed at ${point}: the old or the whole new object, one version after a retry`, async () => {
      const key = `put-${point}`;
      const old = Buffer.from('old');
      const fresh = Buffer.alloc(MIB, 'f');
      const first = await start(point);
      // The first PUT stops at the point only for the new bytes: write the old one beforehand.
      const seed = await start();
      expect((await putBytes(seed.base, `/storage/${plain}/${key}`, old)).status).toBe(200);
      await seed.child.kill();
      void putBytes(first.base, `/storage/${plain}/${key}`, fresh).catch(() => undefined);
      await first.child.next('paused');
      await first.child.kill();

      const after = await restart(point);
      const got = await getBytes(after.base, `/storage/${plain}/${key}`);
      expect(got.status).toBe(200);
      // Before the append: the old object; after it: the whole new one. Never a part.
      expect(got.bytes.equals(point === 'put-object-stored' ? old : fresh)).toBe(true);
      await expectClean();
      expect((await putBytes(after.base, `/storage/${plain}/${key}`, fresh)).status).toBe(200);
      expect((await getBytes(after.base, `/storage/${plain}/${key}`)).bytes.equals(fresh)).toBe(
        true,
      );
      expect(await versionsOf(after.base, plain, key)).toHaveLength(1);
      await expectClean();
    }, 240_000);
  }

  for (const point of [
    'blob-concat-mid',
    'complete-concatenated',
    'complete-started',
    'complete-version-recorded',
  ]) {
    it(`a multipart completion killed at ${point} is finished by the retry with one version`, async () => {
      const key = `mp-${point}`;
      const part1 = Buffer.alloc(5 * MIB, 'a');
      const part2 = Buffer.from('the tail');
      const first = await start(point);
      const init = await call(first.base, 'POST', `/storage/multipart/init/${versioned}/${key}`);
      expect(init.status).toBe(201);
      const uploadId = init.json.id as string;
      for (const [n, part] of [part1, part2].entries()) {
        const res = await putBytes(
          first.base,
          `/storage/multipart/upload/${uploadId}/parts?part_number=${n + 1}`,
          part,
        );
        expect(res.status).toBe(200);
      }
      const parts = { parts: [{ part_number: 1 }, { part_number: 2 }] };
      const idempotencyKey = randomUUID();
      const complete = (base: string) =>
        fetch(`${base}/storage/multipart/complete/${uploadId}`, {
          method: 'POST',
          headers: {
            'x-api-key': apiKey,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body: JSON.stringify(parts),
        });
      void complete(first.base).catch(() => undefined);
      await first.child.next('paused');
      await first.child.kill();

      const after = await restart(point);
      const got = await getBytes(after.base, `/storage/${versioned}/${key}`);
      const whole = Buffer.concat([part1, part2]);
      // Before the version is recorded there is no object; after, the whole of it.
      if (point === 'complete-version-recorded') expect(got.bytes.equals(whole)).toBe(true);
      else expect(got.status).toBe(404);
      await expectClean();

      // The killed request still holds its Idempotency-Key: 409 with Retry-After until it counts
      // as abandoned (5 s after it started, as the child is configured), then the retry takes it
      // over and finishes.
      let retried = await complete(after.base);
      let waitedForKey = 0;
      while (retried.status === 409) {
        const refusal = (await retried.json()) as { error?: { code?: string } };
        expect(refusal.error?.code).toBe('conflict');
        const seconds = Number(retried.headers.get('retry-after') ?? '1');
        await new Promise((wake) => setTimeout(wake, seconds * 1000));
        waitedForKey += seconds;
        retried = await complete(after.base);
      }
      keyWaits[point] = waitedForKey;
      expect(retried.status).toBe(200);
      const body = (await retried.json()) as Record<string, unknown>;
      expect(body.etag).toBe(
        `${md5(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')]))}-2`,
      );
      expect((await getBytes(after.base, `/storage/${versioned}/${key}`)).bytes.equals(whole)).toBe(
        true,
      );
      expect(await versionsOf(after.base, versioned, key)).toHaveLength(1);
      // Retried again: the same key replays the answer; without one (an S3 client's retry) the
      // upload is no longer in progress. Still one version.
      const replayed = await complete(after.base);
      expect(replayed.status).toBe(200);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      const unkeyed = await call(
        after.base,
        'POST',
        `/storage/multipart/complete/${uploadId}`,
        parts,
      );
      expect(unkeyed.status).toBe(404);
      expect(await versionsOf(after.base, versioned, key)).toHaveLength(1);
      // Parts released after the completion; a sweep now finds nothing to remove either.
      await after.child.kill();
      const again = await restart(`${point}-second-sweep`);
      expect(again.swept).toBe(0);
      await expectClean();
    }, 300_000);
  }
});
