/**
 * Object storage over HTTP on the real app and PostgreSQL, blobs on the real file system: buckets
 * (names unique across tenants, even racing), objects (checksums, Range, content types, keys with
 * slashes and spaces), listing (prefix, delimiter, cursor), versioning and delete markers,
 * multipart uploads, presigned URLs, public buckets, tenant walls and audit rows; rejected
 * requests append nothing.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const MIB = 1024 * 1024;

describe('object storage (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;

  const api = (account: Account) => {
    const http = conformingHttp(t);
    const auth = <R extends { set(k: string, v: string): R }>(r: R) =>
      r.set('x-api-key', account.apiKey);
    return {
      get: (path: string) => auth(http.get(path)),
      post: (path: string, body?: object) => auth(http.post(path)).send(body ?? {}),
      patch: (path: string, body: object) => auth(http.patch(path)).send(body),
      put: (path: string, body: Buffer | string, type = 'application/octet-stream') =>
        auth(http.put(path)).set('content-type', type).send(body),
      delete: (path: string) => auth(http.delete(path)),
    };
  };

  /** The body of a download as text, whatever its content type. */
  const textOf = async (
    request: PromiseLike<{ body: unknown }> & { buffer(b: boolean): unknown },
  ) => {
    const res = await (
      request.buffer(true) as { parse(fn: unknown): PromiseLike<{ body: Buffer }> }
    ).parse((res: NodeJS.ReadableStream, done: (err: null, body: Buffer) => void) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    return res.body.toString();
  };

  const bucketName = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

  async function bucket(account: Account, label: string, isPublic = false): Promise<string> {
    const name = bucketName(label);
    await api(account).post('/storage/buckets', { name, is_public: isPublic }).expect(201);
    return name;
  }

  async function expectNothingAppended(request: () => Promise<unknown>) {
    const before = await countEvents(t, ['AccessDenied']);
    await request();
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  }

  beforeAll(async () => {
    t = await startTestApp({ label: 'storage' });
    alice = await signUp(t, 'storage-alice');
    bob = await signUp(t, 'storage-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('buckets', () => {
    it('creates, lists and deletes a bucket; names are unique across tenants', async () => {
      const name = bucketName('assets');
      const created = await api(alice).post('/storage/buckets', { name }).expect(201);
      expect(created.body).toMatchObject({
        name,
        is_public: false,
        versioning: 'disabled',
        versioning_enabled: false,
        arn: `arn:nimbus:storage:local:${alice.tenantId}:bucket/${name}`,
      });
      expect(created.headers.location).toBe(`/storage/${name}`);
      const list = await api(alice).get('/storage/buckets').expect(200);
      expect(list.body.map((b: { name: string }) => b.name)).toContain(name);
      expect((await api(bob).get('/storage/buckets').expect(200)).body).toEqual([]);

      await expectNothingAppended(async () => {
        const taken = await api(bob).post('/storage/buckets', { name }).expect(409);
        expect(taken.body.error.code).toBe('bucket_already_exists');
        const mine = await api(alice).post('/storage/buckets', { name }).expect(409);
        expect(mine.body.error.code).toBe('bucket_already_owned_by_you');
        const invalid = await api(alice).post('/storage/buckets', { name: 'Bad_Name' }).expect(400);
        expect(invalid.body.error.code).toBe('validation_error');
        await api(alice).post('/storage/buckets', { name: 'buckets' }).expect(400);
        await api(bob).delete(`/storage/buckets/${name}`).expect(404);
      });

      await api(alice).delete(`/storage/buckets/${name}`).expect(200);
      await api(alice).get(`/storage/${name}`).expect(404);
      // The name is free again, for anyone.
      await api(bob).post('/storage/buckets', { name }).expect(201);
    });

    it('two tenants racing for one name: exactly one wins, the other is told it is taken', async () => {
      const name = bucketName('race');
      const [a, b] = await Promise.all([
        api(alice).post('/storage/buckets', { name }),
        api(bob).post('/storage/buckets', { name }),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      const loser = a.status === 409 ? a : b;
      expect(loser.body.error.code).toBe('bucket_already_exists');
    });

    it('a bucket that is not empty is 409 bucket_not_empty unless forced; force removes its blobs', async () => {
      const name = await bucket(alice, 'full');
      await api(alice).put(`/storage/${name}/a.txt`, 'a').expect(200);
      const refused = await api(alice).delete(`/storage/buckets/${name}`).expect(409);
      expect(refused.body.error.code).toBe('bucket_not_empty');
      await api(alice).delete(`/storage/buckets/${name}?force=true`).expect(200);
      await api(alice).get(`/storage/${name}/a.txt`).expect(404);
      const blobs = join(t.config.dataDir, 'blobs', 'objects');
      const left = readdirSync(blobs).flatMap((shard) => readdirSync(join(blobs, shard)));
      const listed = await api(alice).get('/storage/buckets').expect(200);
      expect(listed.body.map((b: { name: string }) => b.name)).not.toContain(name);
      expect(left).not.toContain(undefined);
    });
  });

  describe('objects', () => {
    it('uploads with checksum and size, downloads whole and by Range, keeps the content type', async () => {
      const name = await bucket(alice, 'objects');
      const content = Buffer.from('hello, nimbus object storage\n'.repeat(100));
      const put = await api(alice)
        .put(`/storage/${name}/docs/read%20me.txt`, content, 'text/plain; charset=utf-8')
        .expect(200);
      expect(put.body).toMatchObject({
        bucket: name,
        key: 'docs/read me.txt',
        size_bytes: content.length,
        content_type: 'text/plain; charset=utf-8',
        checksum: sha256(content),
        etag: md5(content),
        upload_status: 'AVAILABLE',
        version_id: 'null',
      });

      const got = await api(alice)
        .get(`/storage/${name}/docs/read%20me.txt`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect((got.body as Buffer).equals(content)).toBe(true);
      expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(got.headers.etag).toBe(`"${md5(content)}"`);
      expect(got.headers['x-checksum-sha256']).toBe(sha256(content));

      const ranged = await api(alice)
        .get(`/storage/${name}/docs/read%20me.txt`)
        .set('range', 'bytes=7-12')
        .expect(206);
      expect(ranged.text).toBe('nimbus');
      expect(ranged.headers['content-range']).toBe(`bytes 7-12/${content.length}`);
      const suffix = await api(alice)
        .get(`/storage/${name}/docs/read%20me.txt`)
        .set('range', 'bytes=-4')
        .expect(206);
      expect(suffix.headers['content-range']).toBe(
        `bytes ${content.length - 4}-${content.length - 1}/${content.length}`,
      );
      const beyond = await api(alice)
        .get(`/storage/${name}/docs/read%20me.txt`)
        .set('range', `bytes=${content.length}-`)
        .expect(416);
      expect(beyond.body.error.code).toBe('range_not_satisfiable');
      expect(beyond.headers['content-range']).toBe(`bytes */${content.length}`);

      // JSON is only bytes here: stored as sent.
      const json = '{"b": 1,   "a": [2]}';
      await api(alice).put(`/storage/${name}/data.json`, json, 'application/json').expect(200);
      const back = await api(alice)
        .get(`/storage/${name}/data.json`)
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => done(null, text));
        });
      expect(back.body).toBe(json);

      // An overwrite replaces the null version.
      await api(alice).put(`/storage/${name}/data.json`, 'v2', 'text/plain').expect(200);
      const versions = await api(alice).get(`/storage/versions/${name}/data.json`).expect(200);
      expect(versions.body.versions).toHaveLength(1);
    });

    it("another tenant's objects are 404 for every verb, and nothing is appended", async () => {
      const name = await bucket(alice, 'walls');
      await api(alice).put(`/storage/${name}/secret.txt`, 'secret').expect(200);
      await expectNothingAppended(async () => {
        for (const res of [
          await api(bob).get(`/storage/${name}/secret.txt`),
          await api(bob).put(`/storage/${name}/secret.txt`, 'mine'),
          await api(bob).delete(`/storage/${name}/secret.txt`),
          await api(bob).get(`/storage/${name}`),
          await api(bob).get(`/storage/versions/${name}/secret.txt`),
          await api(bob).post(`/storage/multipart/init/${name}/big.bin`),
          await api(bob).post(`/storage/presign/${name}/secret.txt`, { method: 'GET' }),
          await api(bob).patch(`/storage/buckets/${name}/versioning`, { enabled: true }),
        ]) {
          expect(res.status, JSON.stringify(res.body)).toBe(404);
          expect(res.body.error.code).toBe('not_found');
        }
        // Anonymous callers see no private bucket either.
        await conformingHttp(t).get(`/storage/${name}/secret.txt`).expect(404);
        await conformingHttp(t).put(`/storage/${name}/x`).send('x').expect(401);
      });
    });

    it('lists the latest versions by prefix, rolls keys up by delimiter and pages with a cursor', async () => {
      const name = await bucket(alice, 'listing');
      const keys = ['a.txt', 'logs/2026/01.log', 'logs/2026/02.log', 'logs/x.log', 'z/1', 'z/2'];
      for (const key of keys) await api(alice).put(`/storage/${name}/${key}`, key).expect(200);

      const all = await api(alice).get(`/storage/${name}`).expect(200);
      expect(all.body.items.map((o: { key: string }) => o.key)).toEqual(keys);
      expect(all.body.next_cursor).toBeNull();

      const rolled = await api(alice).get(`/storage/${name}?delimiter=/`).expect(200);
      expect(rolled.body.items.map((o: { key: string }) => o.key)).toEqual(['a.txt']);
      expect(rolled.body.common_prefixes).toEqual(['logs/', 'z/']);

      const logs = await api(alice).get(`/storage/${name}?prefix=logs/&delimiter=/`).expect(200);
      expect(logs.body.items.map((o: { key: string }) => o.key)).toEqual(['logs/x.log']);
      expect(logs.body.common_prefixes).toEqual(['logs/2026/']);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page: { body: { items: Array<{ key: string }>; next_cursor: string | null } } =
          await api(alice).get(`/storage/${name}?limit=2${query}`).expect(200);
        seen.push(...page.body.items.map((o) => o.key));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(keys);
    });

    it('versioning keeps versions, a delete leaves a marker, a named version stays readable', async () => {
      const name = await bucket(alice, 'versioned');
      const enabled = await api(alice)
        .patch(`/storage/buckets/${name}/versioning`, { enabled: true })
        .expect(200);
      expect(enabled.body.versioning).toBe('enabled');
      const v1 = await api(alice).put(`/storage/${name}/doc`, 'one').expect(200);
      const v2 = await api(alice).put(`/storage/${name}/doc`, 'two').expect(200);
      expect(v1.body.version_id).not.toBe('null');
      expect(v2.body.version_id).not.toBe(v1.body.version_id);
      expect(await textOf(api(alice).get(`/storage/${name}/doc`).expect(200))).toBe('two');

      const deleted = await api(alice).delete(`/storage/${name}/doc`).expect(200);
      expect(deleted.body.delete_marker).toBe(true);
      await api(alice).get(`/storage/${name}/doc`).expect(404);
      expect((await api(alice).get(`/storage/${name}`).expect(200)).body.items).toEqual([]);

      const versions = await api(alice).get(`/storage/versions/${name}/doc`).expect(200);
      expect(
        versions.body.versions.map((v: { version_id: string; delete_marker: boolean }) => [
          v.version_id,
          v.delete_marker,
        ]),
      ).toEqual([
        [deleted.body.version_id, true],
        [v2.body.version_id, false],
        [v1.body.version_id, false],
      ]);
      const old = await textOf(
        api(alice).get(`/storage/${name}/doc?version_id=${v1.body.version_id}`).expect(200),
      );
      expect(old).toBe('one');

      // Removing the marker brings the object back; suspending keeps the old versions.
      await api(alice)
        .delete(`/storage/${name}/doc?version_id=${deleted.body.version_id}`)
        .expect(200);
      expect(await textOf(api(alice).get(`/storage/${name}/doc`).expect(200))).toBe('two');
      const suspended = await api(alice)
        .patch(`/storage/buckets/${name}/versioning`, { enabled: false })
        .expect(200);
      expect(suspended.body.versioning).toBe('suspended');
      const v3 = await api(alice).put(`/storage/${name}/doc`, 'three').expect(200);
      expect(v3.body.version_id).toBe('null');
      const after = await api(alice).get(`/storage/versions/${name}/doc`).expect(200);
      expect(after.body.versions).toHaveLength(3);
    });
  });

  describe('multipart uploads', () => {
    it('uploads parts, checks the completion list and assembles the object', async () => {
      const name = await bucket(alice, 'multipart');
      const init = await api(alice)
        .post(`/storage/multipart/init/${name}/big/file.bin`)
        .expect(201);
      const uploadId = init.body.id as string;
      expect(init.body).toMatchObject({ bucket: name, key: 'big/file.bin', status: 'IN_PROGRESS' });

      const part1 = Buffer.alloc(5 * MIB, 'a');
      const part2 = Buffer.from('the tail');
      const p1 = await api(alice)
        .put(`/storage/multipart/upload/${uploadId}/parts?part_number=1`, part1)
        .expect(200);
      expect(p1.body).toMatchObject({ part_number: 1, etag: md5(part1), size_bytes: 5 * MIB });
      await api(alice)
        .put(`/storage/multipart/upload/${uploadId}/parts?part_number=2`, Buffer.from('small'))
        .expect(200);

      await expectNothingAppended(async () => {
        const order = await api(alice)
          .post(`/storage/multipart/complete/${uploadId}`, {
            parts: [{ part_number: 2 }, { part_number: 1 }],
          })
          .expect(400);
        expect(order.body.error.code).toBe('invalid_part_order');
        const missing = await api(alice)
          .post(`/storage/multipart/complete/${uploadId}`, {
            parts: [{ part_number: 1 }, { part_number: 3 }],
          })
          .expect(400);
        expect(missing.body.error.code).toBe('invalid_part');
      });

      // Part 2 sent again replaces the earlier one.
      await api(alice)
        .put(`/storage/multipart/upload/${uploadId}/parts?part_number=2`, part2)
        .expect(200);
      const done = await api(alice)
        .post(`/storage/multipart/complete/${uploadId}`, {
          parts: [
            { part_number: 1, etag: `"${md5(part1)}"` },
            { part_number: 2, etag: md5(part2) },
          ],
        })
        .expect(200);
      const whole = Buffer.concat([part1, part2]);
      const expectedEtag = `${md5(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')]))}-2`;
      expect(done.body).toMatchObject({
        key: 'big/file.bin',
        size_bytes: whole.length,
        checksum: sha256(whole),
        etag: expectedEtag,
      });
      const got = await textOf(
        api(alice)
          .get(`/storage/${name}/big/file.bin`)
          .set('range', `bytes=${5 * MIB - 2}-`)
          .expect(206),
      );
      expect(got).toBe('aathe tail');
      await api(alice).post(`/storage/multipart/complete/${uploadId}`, { parts: [] }).expect(404);
    });

    it('a part other than the last below 5 MiB is entity_too_small; abort ends the upload', async () => {
      const name = await bucket(alice, 'abort');
      const init = await api(alice).post(`/storage/multipart/init/${name}/x.bin`).expect(201);
      const id = init.body.id as string;
      await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=1`, 'tiny')
        .expect(200);
      await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=2`, 'tiny')
        .expect(200);
      const small = await api(alice)
        .post(`/storage/multipart/complete/${id}`, {
          parts: [{ part_number: 1 }, { part_number: 2 }],
        })
        .expect(400);
      expect(small.body.error.code).toBe('entity_too_small');
      await api(bob).delete(`/storage/multipart/abort/${id}`).expect(404);
      const bad = await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=0`, 'x')
        .expect(400);
      expect(bad.body.error.code).toBe('validation_error');
      await api(alice).delete(`/storage/multipart/abort/${id}`).expect(200);
      await api(alice).put(`/storage/multipart/upload/${id}/parts?part_number=3`, 'x').expect(404);
      await api(alice).delete(`/storage/buckets/${name}`).expect(200);
    });
  });

  describe('presigned URLs and public buckets', () => {
    it('a presigned GET and PUT work without credentials until they expire; a tampered one is 403', async () => {
      const name = await bucket(alice, 'presign');
      await api(alice).put(`/storage/${name}/shared.txt`, 'shared').expect(200);
      const get = await api(alice)
        .post(`/storage/presign/${name}/shared.txt`, { method: 'GET', expires_in: 60 })
        .expect(200);
      expect(get.body.method).toBe('GET');
      expect(await textOf(conformingHttp(t).get(get.body.url).expect(200))).toBe('shared');
      const tampered = (get.body.url as string).replace(
        /signature=(.)/,
        (_m, c: string) => `signature=${c === '0' ? '1' : '0'}`,
      );
      expect((await conformingHttp(t).get(tampered).expect(403)).body.error.code).toBe('forbidden');
      const otherKey = (get.body.url as string).replace('shared.txt', 'other.txt');
      await conformingHttp(t).get(otherKey).expect(403);

      const put = await api(alice)
        .post(`/storage/presign/${name}/upload%20here.txt`, { method: 'PUT' })
        .expect(200);
      await conformingHttp(t).get(put.body.url).expect(403);
      const uploaded = await t
        .http()
        .put(put.body.url)
        .set('content-type', 'text/plain')
        .send('via presigned')
        .expect(200);
      expect(uploaded.body).toMatchObject({
        key: 'upload here.txt',
        checksum: sha256('via presigned'),
      });
      expect(await textOf(api(alice).get(`/storage/${name}/upload%20here.txt`).expect(200))).toBe(
        'via presigned',
      );

      const expired = new URL(get.body.url as string, 'http://x');
      expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
      await conformingHttp(t)
        .get(`${expired.pathname}?${expired.searchParams.toString()}`)
        .expect(403);
    });

    it('a public bucket is readable without credentials, not writable', async () => {
      const name = await bucket(alice, 'public', true);
      await api(alice).put(`/storage/${name}/index.html`, '<p>hi</p>', 'text/html').expect(200);
      const page = await conformingHttp(t).get(`/storage/${name}/index.html`).expect(200);
      expect(page.text).toBe('<p>hi</p>');
      expect(page.headers['content-type']).toBe('text/html');
      const listed = await conformingHttp(t).get(`/storage/${name}`).expect(200);
      expect(listed.body.items.map((o: { key: string }) => o.key)).toEqual(['index.html']);
      await conformingHttp(t).put(`/storage/${name}/index.html`).send('defaced').expect(401);
      await conformingHttp(t).delete(`/storage/${name}/index.html`).expect(401);
    });
  });

  it('every mutation is audited under its action', async () => {
    const name = await bucket(alice, 'audited');
    await api(alice).put(`/storage/${name}/a`, 'a').expect(200);
    await api(alice).delete(`/storage/${name}/a`).expect(200);
    await api(alice).delete(`/storage/buckets/${name}`).expect(200);
    const deadline = Date.now() + 20_000;
    let actions: string[] = [];
    const expected = ['BUCKET_CREATE', 'OBJECT_PUT', 'OBJECT_VERSION_DELETE', 'BUCKET_DELETE'];
    while (Date.now() < deadline) {
      const res = await api(alice).get('/audit?limit=200').expect(200);
      actions = (res.body as Array<{ action: string }>).map((r) => r.action);
      if (expected.every((a) => actions.includes(a))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(actions).toEqual(expect.arrayContaining(expected));
  });
});
