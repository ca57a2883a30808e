/**
 * Object storage over HTTP on the real app and PostgreSQL, blobs on the real file system: buckets
 * (names unique across tenants, even racing), objects (checksums, Range, content types, keys with
 * slashes and spaces), listing (prefix, delimiter, cursor), versioning and delete markers,
 * multipart uploads, presigned URLs, public buckets, tenant walls and audit rows; rejected
 * requests append nothing. JSON routes go through the generated SDK (answers validated against
 * the committed document); object bytes (uploads, downloads, Range, parts, presigned URLs) go
 * raw over HTTP, their JSON answers validated against the document too (`conformingHttp`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { uuidV5 } from '../../src/common/ids';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import {
  bucketDecider,
  multipartDecider,
  multipartEtag,
  objectDecider,
  objectIdOf,
  type BlobRef,
} from '../../src/storage/domain';
import { BLOB_STORE, type BlobStore } from '../../src/storage/ports/blob-store';
import { startTestApp, type TestApp } from '../support/app';
import {
  conformingHttp,
  itemsOf,
  refusedWith,
  sdkFor,
  sdkSignUp,
  unwrap,
  type SdkAccount,
} from '../support/sdk';
import { countEvents } from './identity.helpers';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const MIB = 1024 * 1024;

describe('object storage (e2e)', () => {
  let t: TestApp;
  let alice: SdkAccount;
  let bob: SdkAccount;

  /** Raw HTTP for object bytes (the SDK's JSON client does not stream them). */
  const api = (account: SdkAccount) => {
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

  const inBucket = (bucket: string) => ({ params: { path: { bucket } } });
  const atKey = (bucket: string, path: string) => ({ params: { path: { bucket, path } } });
  const ofUpload = (id: string) => ({ params: { path: { id } } });

  async function bucket(account: SdkAccount, label: string, isPublic = false): Promise<string> {
    const name = bucketName(label);
    unwrap(await account.sdk.POST('/storage/buckets', { body: { name, is_public: isPublic } }));
    return name;
  }

  const createBucket = (account: SdkAccount, name: string) =>
    account.sdk.POST('/storage/buckets', { body: { name } });
  const deleteBucket = (account: SdkAccount, name: string, force?: boolean) =>
    account.sdk.DELETE('/storage/buckets/{bucket}', {
      params: { path: { bucket: name }, query: force ? { force } : {} },
    });
  const bucketNames = async (account: SdkAccount) =>
    itemsOf(unwrap(await account.sdk.GET('/storage/buckets'))).map((b) => b.name);
  const listObjects = async (
    account: SdkAccount,
    name: string,
    query: { prefix?: string; delimiter?: string; limit?: number; cursor?: string } = {},
  ) =>
    unwrap(
      await account.sdk.GET('/storage/{bucket}', { params: { path: { bucket: name }, query } }),
    );
  const versionsOf = async (account: SdkAccount, name: string, key: string) =>
    unwrap(await account.sdk.GET('/storage/versions/{bucket}/{path}', atKey(name, key)));
  const setVersioning = async (account: SdkAccount, name: string, enabled: boolean) =>
    unwrap(
      await account.sdk.PATCH('/storage/buckets/{bucket}/versioning', {
        ...inBucket(name),
        body: { enabled },
      }),
    );

  async function expectNothingAppended(request: () => Promise<unknown>) {
    const before = await countEvents(t, ['AccessDenied']);
    await request();
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  }

  beforeAll(async () => {
    t = await startTestApp({ label: 'storage' });
    alice = await sdkSignUp(t, 'storage-alice');
    bob = await sdkSignUp(t, 'storage-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('buckets', () => {
    it('creates, lists and deletes a bucket; names are unique across tenants', async () => {
      const name = bucketName('assets');
      const created = await createBucket(alice, name);
      expect(created.response.status).toBe(201);
      expect(unwrap(created)).toMatchObject({
        name,
        is_public: false,
        versioning: 'disabled',
        versioning_enabled: false,
        arn: `arn:nimbus:storage:local:${alice.tenantId}:bucket/${name}`,
      });
      expect(created.response.headers.get('location')).toBe(`/storage/${name}`);
      expect(await bucketNames(alice)).toContain(name);
      expect(await bucketNames(bob)).toEqual([]);

      await expectNothingAppended(async () => {
        refusedWith(await createBucket(bob, name), 409, 'bucket_already_exists');
        refusedWith(await createBucket(alice, name), 409, 'bucket_already_owned_by_you');
        refusedWith(await createBucket(alice, 'Bad_Name'), 400, 'validation_error');
        refusedWith(await createBucket(alice, 'buckets'), 400, 'validation_error');
        refusedWith(await deleteBucket(bob, name), 404, 'not_found');
      });

      unwrap(await deleteBucket(alice, name));
      refusedWith(await alice.sdk.GET('/storage/{bucket}', inBucket(name)), 404, 'not_found');
      // The name is free again, for anyone.
      expect((await createBucket(bob, name)).response.status).toBe(201);
    });

    it('two tenants racing for one name: exactly one wins, the other is told it is taken', async () => {
      const name = bucketName('race');
      const [a, b] = await Promise.all([createBucket(alice, name), createBucket(bob, name)]);
      expect([a.response.status, b.response.status].sort()).toEqual([201, 409]);
      refusedWith(a.response.status === 409 ? a : b, 409, 'bucket_already_exists');
    });

    it('a bucket that is not empty is 409 bucket_not_empty unless forced; force removes its blobs', async () => {
      const name = await bucket(alice, 'full');
      await api(alice).put(`/storage/${name}/a.txt`, 'a').expect(200);
      refusedWith(await deleteBucket(alice, name), 409, 'bucket_not_empty');
      unwrap(await deleteBucket(alice, name, true));
      await api(alice).get(`/storage/${name}/a.txt`).expect(404);
      const blobs = join(t.config.dataDir, 'blobs', 'objects');
      const left = readdirSync(blobs).flatMap((shard) => readdirSync(join(blobs, shard)));
      expect(await bucketNames(alice)).not.toContain(name);
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
      expect((await versionsOf(alice, name, 'data.json')).versions).toHaveLength(1);
    });

    it("another tenant's objects are 404 for every verb, and nothing is appended", async () => {
      const name = await bucket(alice, 'walls');
      await api(alice).put(`/storage/${name}/secret.txt`, 'secret').expect(200);
      await expectNothingAppended(async () => {
        for (const res of [
          await api(bob).get(`/storage/${name}/secret.txt`),
          await api(bob).put(`/storage/${name}/secret.txt`, 'mine'),
        ]) {
          expect(res.status, JSON.stringify(res.body)).toBe(404);
          expect(res.body.error.code).toBe('not_found');
        }
        const secret = atKey(name, 'secret.txt');
        for (const res of [
          await bob.sdk.DELETE('/storage/{bucket}/{path}', secret),
          await bob.sdk.GET('/storage/{bucket}', inBucket(name)),
          await bob.sdk.GET('/storage/versions/{bucket}/{path}', secret),
          await bob.sdk.POST('/storage/multipart/init/{bucket}/{path}', atKey(name, 'big.bin')),
          await bob.sdk.POST('/storage/presign/{bucket}/{path}', {
            ...secret,
            body: { method: 'GET' },
          }),
          await bob.sdk.PATCH('/storage/buckets/{bucket}/versioning', {
            ...inBucket(name),
            body: { enabled: true },
          }),
        ]) {
          refusedWith(res, 404, 'not_found');
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

      const all = await listObjects(alice, name);
      expect(all.items.map((o) => o.key)).toEqual(keys);
      expect(all.next_cursor).toBeNull();

      const rolled = await listObjects(alice, name, { delimiter: '/' });
      expect(rolled.items.map((o) => o.key)).toEqual(['a.txt']);
      expect(rolled.common_prefixes).toEqual(['logs/', 'z/']);

      const logs = await listObjects(alice, name, { prefix: 'logs/', delimiter: '/' });
      expect(logs.items.map((o) => o.key)).toEqual(['logs/x.log']);
      expect(logs.common_prefixes).toEqual(['logs/2026/']);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await listObjects(alice, name, cursor ? { limit: 2, cursor } : { limit: 2 });
        seen.push(...page.items.map((o) => o.key));
        cursor = page.next_cursor ?? null;
      } while (cursor);
      expect(seen).toEqual(keys);
    });

    it('versioning keeps versions, a delete leaves a marker, a named version stays readable', async () => {
      const name = await bucket(alice, 'versioned');
      expect((await setVersioning(alice, name, true)).versioning).toBe('enabled');
      const v1 = await api(alice).put(`/storage/${name}/doc`, 'one').expect(200);
      const v2 = await api(alice).put(`/storage/${name}/doc`, 'two').expect(200);
      expect(v1.body.version_id).not.toBe('null');
      expect(v2.body.version_id).not.toBe(v1.body.version_id);
      expect(await textOf(api(alice).get(`/storage/${name}/doc`).expect(200))).toBe('two');

      const deleted = await api(alice).delete(`/storage/${name}/doc`).expect(200);
      expect(deleted.body.delete_marker).toBe(true);
      await api(alice).get(`/storage/${name}/doc`).expect(404);
      expect((await listObjects(alice, name)).items).toEqual([]);

      const versions = await versionsOf(alice, name, 'doc');
      expect(versions.versions.map((v) => [v.version_id, v.delete_marker])).toEqual([
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
      expect((await setVersioning(alice, name, false)).versioning).toBe('suspended');
      const v3 = await api(alice).put(`/storage/${name}/doc`, 'three').expect(200);
      expect(v3.body.version_id).toBe('null');
      expect((await versionsOf(alice, name, 'doc')).versions).toHaveLength(3);
    });
  });

  describe('multipart uploads', () => {
    it('uploads parts, checks the completion list and assembles the object', async () => {
      const name = await bucket(alice, 'multipart');
      const init = unwrap(
        await alice.sdk.POST(
          '/storage/multipart/init/{bucket}/{path}',
          atKey(name, 'big/file.bin'),
        ),
      );
      const uploadId = init.id;
      expect(init).toMatchObject({ bucket: name, key: 'big/file.bin', status: 'IN_PROGRESS' });
      const complete = (parts: Array<{ part_number: number; etag?: string }>) =>
        alice.sdk.POST('/storage/multipart/complete/{id}', {
          ...ofUpload(uploadId),
          body: { parts },
        });

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
        refusedWith(
          await complete([{ part_number: 2 }, { part_number: 1 }]),
          400,
          'invalid_part_order',
        );
        refusedWith(await complete([{ part_number: 1 }, { part_number: 3 }]), 400, 'invalid_part');
      });

      // Part 2 sent again replaces the earlier one.
      await api(alice)
        .put(`/storage/multipart/upload/${uploadId}/parts?part_number=2`, part2)
        .expect(200);
      const done = unwrap(
        await complete([
          { part_number: 1, etag: `"${md5(part1)}"` },
          { part_number: 2, etag: md5(part2) },
        ]),
      );
      const whole = Buffer.concat([part1, part2]);
      const expectedEtag = `${md5(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')]))}-2`;
      expect(done).toMatchObject({
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
      refusedWith(await complete([]), 404, 'not_found');
    });

    it.each(['started', 'version written'] as const)(
      'a completion cut short (%s, then the process gone) is finished by the next one, with one version',
      async (cutAfter) => {
        const name = await bucket(alice, 'cut-short');
        await setVersioning(alice, name, true);
        const { id: uploadId } = unwrap(
          await alice.sdk.POST('/storage/multipart/init/{bucket}/{path}', atKey(name, 'c.bin')),
        );
        const part1 = Buffer.alloc(5 * MIB, 'c');
        const part2 = Buffer.from('end');
        for (const [n, part] of [part1, part2].entries()) {
          await api(alice)
            .put(`/storage/multipart/upload/${uploadId}/parts?part_number=${n + 1}`, part)
            .expect(200);
        }
        // What the completion handler records before a crash, step by step, as it records it.
        const executor = t.app.get(CommandExecutor);
        const upload = (await executor.load(multipartDecider, uploadId)).state;
        const stored = await t.app
          .get<BlobStore>(BLOB_STORE)
          .concat([upload.parts[1].blob.blobId, upload.parts[2].blob.blobId]);
        const assembled: BlobRef = {
          blobId: stored.blobId,
          sizeBytes: stored.sizeBytes,
          sha256: stored.sha256,
          etag: multipartEtag([upload.parts[1].blob.etag, upload.parts[2].blob.etag]),
        };
        const versionId = uuidV5(`multipart-version/${uploadId}`).replace(/-/g, '');
        const ctx = {
          commandId: randomUUID(),
          tenantId: alice.tenantId,
          actor: { type: 'user' as const, id: alice.userId },
          requestId: null,
          sourceIp: null,
          correlationId: randomUUID(),
          causationId: null,
          now: new Date(),
        };
        const parts = [{ partNumber: 1 }, { partNumber: 2 }];
        await executor.execute(
          multipartDecider,
          uploadId,
          {
            type: 'StartMultipartCompletion',
            parts,
            assembled,
            versionId,
            minPartBytes: 5 * MIB,
            now: new Date(),
          },
          ctx,
        );
        if (cutAfter === 'version written') {
          const bucketId = upload.bucketId as string;
          const { state: b } = await executor.load(bucketDecider, bucketId);
          await executor.execute(
            objectDecider,
            objectIdOf(bucketId, 'c.bin'),
            {
              type: 'PutObjectVersion',
              bucketId,
              tenantId: alice.tenantId,
              key: 'c.bin',
              versioning: b.versioning,
              newVersionId: versionId,
              blob: assembled,
              contentType: upload.contentType,
              now: new Date(),
            },
            { ...ctx, commandId: randomUUID() },
          );
        }

        const done = unwrap(
          await alice.sdk.POST('/storage/multipart/complete/{id}', {
            ...ofUpload(uploadId),
            body: { parts: [{ part_number: 1 }, { part_number: 2 }] },
          }),
        );
        const whole = Buffer.concat([part1, part2]);
        expect(done).toMatchObject({ version_id: versionId, checksum: sha256(whole) });
        const versions = (await versionsOf(alice, name, 'c.bin')).versions;
        expect(versions.map((v) => v.version_id)).toEqual([versionId]);
        expect(
          await textOf(
            api(alice)
              .get(`/storage/${name}/c.bin`)
              .set('range', `bytes=${5 * MIB - 1}-`)
              .expect(206),
          ),
        ).toBe('cend');
        refusedWith(
          await alice.sdk.POST('/storage/multipart/complete/{id}', {
            ...ofUpload(uploadId),
            body: { parts: [{ part_number: 1 }, { part_number: 2 }] },
          }),
          404,
          'not_found',
        );
      },
    );

    it('a part other than the last below 5 MiB is entity_too_small; abort ends the upload', async () => {
      const name = await bucket(alice, 'abort');
      const { id } = unwrap(
        await alice.sdk.POST('/storage/multipart/init/{bucket}/{path}', atKey(name, 'x.bin')),
      );
      await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=1`, 'tiny')
        .expect(200);
      await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=2`, 'tiny')
        .expect(200);
      refusedWith(
        await alice.sdk.POST('/storage/multipart/complete/{id}', {
          ...ofUpload(id),
          body: { parts: [{ part_number: 1 }, { part_number: 2 }] },
        }),
        400,
        'entity_too_small',
      );
      refusedWith(
        await bob.sdk.DELETE('/storage/multipart/abort/{id}', ofUpload(id)),
        404,
        'not_found',
      );
      const bad = await api(alice)
        .put(`/storage/multipart/upload/${id}/parts?part_number=0`, 'x')
        .expect(400);
      expect(bad.body.error.code).toBe('validation_error');
      unwrap(await alice.sdk.DELETE('/storage/multipart/abort/{id}', ofUpload(id)));
      await api(alice).put(`/storage/multipart/upload/${id}/parts?part_number=3`, 'x').expect(404);
      unwrap(await deleteBucket(alice, name));
    });
  });

  describe('presigned URLs and public buckets', () => {
    it('a presigned GET and PUT work without credentials until they expire; a tampered one is 403', async () => {
      const name = await bucket(alice, 'presign');
      await api(alice).put(`/storage/${name}/shared.txt`, 'shared').expect(200);
      const get = unwrap(
        await alice.sdk.POST('/storage/presign/{bucket}/{path}', {
          ...atKey(name, 'shared.txt'),
          body: { method: 'GET', expires_in: 60 },
        }),
      );
      expect(get.method).toBe('GET');
      expect(await textOf(conformingHttp(t).get(get.url).expect(200))).toBe('shared');
      const tampered = get.url.replace(
        /signature=(.)/,
        (_m, c: string) => `signature=${c === '0' ? '1' : '0'}`,
      );
      expect((await conformingHttp(t).get(tampered).expect(403)).body.error.code).toBe('forbidden');
      const otherKey = get.url.replace('shared.txt', 'other.txt');
      await conformingHttp(t).get(otherKey).expect(403);

      const put = unwrap(
        await alice.sdk.POST('/storage/presign/{bucket}/{path}', {
          ...atKey(name, 'upload here.txt'),
          body: { method: 'PUT' },
        }),
      );
      await conformingHttp(t).get(put.url).expect(403);
      const uploaded = await t
        .http()
        .put(put.url)
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

      const expired = new URL(get.url, 'http://x');
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
      const anonymous = unwrap(await sdkFor(t).GET('/storage/{bucket}', inBucket(name)));
      expect(anonymous.items.map((o) => o.key)).toEqual(['index.html']);
      await conformingHttp(t).put(`/storage/${name}/index.html`).send('defaced').expect(401);
      await conformingHttp(t).delete(`/storage/${name}/index.html`).expect(401);
    });
  });

  it('every mutation is audited under its action', async () => {
    const name = await bucket(alice, 'audited');
    await api(alice).put(`/storage/${name}/a`, 'a').expect(200);
    await api(alice).delete(`/storage/${name}/a`).expect(200);
    unwrap(await deleteBucket(alice, name));
    const expected = ['BUCKET_CREATE', 'OBJECT_PUT', 'OBJECT_VERSION_DELETE', 'BUCKET_DELETE'];
    const deadline = Date.now() + 20_000;
    let actions: string[] = [];
    while (Date.now() < deadline) {
      const rows = itemsOf(
        unwrap(await alice.sdk.GET('/audit', { params: { query: { limit: 200 } } })),
      );
      actions = rows.map((r) => r.action);
      if (expected.every((a) => actions.includes(a))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(actions).toEqual(expect.arrayContaining(expected));
  });
});
