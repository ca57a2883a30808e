/**
 * The S3-compatible endpoint against the real `@aws-sdk/client-s3` at its default settings (it
 * sends STREAMING-UNSIGNED-PAYLOAD-TRAILER with CRC32 trailers over plain HTTP and asks for
 * checksums back) and `@aws-sdk/lib-storage` multipart uploads, on the real app, PostgreSQL and
 * file system: the same buckets, objects and versions through both APIs; tenant walls; a wrong
 * secret, a tampered signature, an unknown key and a stale date are refused with S3's codes;
 * unsigned reads of a public bucket (Smithy's noAuth scheme) and nothing else unsigned; refusals
 * recorded as AccessDenied events and shown by the tenant's audit log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Clock } from '../../src/platform/clock';
import { createNimbusClient, unwrap } from '../../src/sdk/client';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { startTestApp, type TestApp } from '../support/app';
import { itemsOf, pollUntil, sdkSignUp } from '../support/sdk';
import { countEvents, eventsOfType, signUp, type Account } from './identity.helpers';

const MIB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

describe('S3 endpoint with @aws-sdk/client-s3 (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let aliceKeys: Keys;
  let bobKeys: Keys;
  let endpoint: string;
  let port: number;

  const client = (keys: Keys, extra: Partial<S3ClientConfig> = {}) =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: keys,
      maxAttempts: 1,
      ...extra,
    });

  async function s3Key(account: Pick<Account, 'apiKey'>): Promise<Keys> {
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: account.apiKey });
    const key = unwrap(await sdk.POST('/storage/access-keys'));
    return { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key };
  }

  /**
   * A client that signs nothing: Smithy's `noAuth` scheme (the SDK's `signer` override of older
   * versions no longer stops it from resolving credentials first).
   */
  const anonymousClient = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      httpAuthSchemeProvider: () => [{ schemeId: 'smithy.api#noAuth' }],
      httpAuthSchemes: [
        {
          schemeId: 'smithy.api#noAuth',
          identityProvider: () => () => Promise.resolve({}),
          signer: { sign: (request) => Promise.resolve(request) },
        },
      ],
    });

  async function refusal(promise: Promise<unknown>): Promise<{ name: string; status: number }> {
    return (await refusalWithId(promise)).refused;
  }

  async function refusalWithId(
    promise: Promise<unknown>,
  ): Promise<{ refused: { name: string; status: number }; requestId: string | undefined }> {
    try {
      await promise;
    } catch (err) {
      expect(err).toBeInstanceOf(S3ServiceException);
      const e = err as S3ServiceException;
      return {
        refused: { name: e.name, status: e.$metadata.httpStatusCode ?? 0 },
        requestId: e.$metadata.requestId,
      };
    }
    throw new Error('expected the request to be refused');
  }

  /** A plain unsigned HTTP request: status and body. */
  const unsigned = (method: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpRequest(`${endpoint}${path}`, { method }, (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      })
        .on('error', reject)
        .end();
    });

  const bucketName = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;
  const bytesOf = async (body: unknown) =>
    Buffer.from(
      await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );

  beforeAll(async () => {
    t = await startTestApp({ label: 's3sdk', config: { s3Port: 0 } });
    port = t.app.get(S3Endpoint).port() as number;
    endpoint = `http://127.0.0.1:${port}`;
    alice = await signUp(t, 's3sdk-alice');
    bob = await signUp(t, 's3sdk-bob');
    aliceKeys = await s3Key(alice);
    bobKeys = await s3Key(bob);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('buckets: create, head, list, location, delete; the native API sees them', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-buckets');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await s3.send(new HeadBucketCommand({ Bucket: name }));
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain(name);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: name }));
    expect(location.LocationConstraint ?? '').toBe('');
    const native = await t
      .http()
      .get('/storage/buckets')
      .set('x-api-key', alice.apiKey)
      .expect(200);
    expect(JSON.stringify(native.body)).toContain(name);

    expect(await refusal(s3.send(new CreateBucketCommand({ Bucket: name })))).toEqual({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    expect(await refusal(client(bobKeys).send(new CreateBucketCommand({ Bucket: name })))).toEqual({
      name: 'BucketAlreadyExists',
      status: 409,
    });
    // Another tenant's bucket does not exist for bob.
    expect(
      await refusal(client(bobKeys).send(new HeadBucketCommand({ Bucket: name }))),
    ).toMatchObject({
      status: 404,
    });
    expect(await refusal(client(bobKeys).send(new ListObjectsV2Command({ Bucket: name })))).toEqual(
      { name: 'NoSuchBucket', status: 404 },
    );

    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'x', Body: 'x' }));
    expect(await refusal(s3.send(new DeleteBucketCommand({ Bucket: name })))).toEqual({
      name: 'BucketNotEmpty',
      status: 409,
    });
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
    expect(await refusal(s3.send(new HeadBucketCommand({ Bucket: name })))).toMatchObject({
      status: 404,
    });
  });

  it('objects: default-settings PUT (aws-chunked, CRC32 trailer), GET with checksum, Range, conditions, HEAD', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-objects');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    const body = randomBytes(300_000);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: name,
        Key: 'dir/data.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { colour: 'blue' },
        ContentDisposition: 'attachment; filename="data.bin"',
      }),
    );
    expect(put.ETag).toBe(`"${md5(body)}"`);
    expect(put.ChecksumCRC32).toBeTruthy();

    const got = await s3.send(
      new GetObjectCommand({ Bucket: name, Key: 'dir/data.bin', ChecksumMode: 'ENABLED' }),
    );
    expect((await bytesOf(got.Body)).equals(body)).toBe(true);
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.Metadata).toEqual({ colour: 'blue' });
    expect(got.ContentDisposition).toBe('attachment; filename="data.bin"');
    // aws-chunked is framing, never part of the stored object or its encoding.
    expect(got.ContentEncoding ?? '').not.toContain('aws-chunked');
    expect(got.ContentLength).toBe(body.length);

    // The native API reads the very same object.
    const native = await t
      .http()
      .get(`/storage/${name}/dir/data.bin`)
      .set('x-api-key', alice.apiKey)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect((native.body as Buffer).equals(body)).toBe(true);

    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: name, Key: 'dir/data.bin', Range: 'bytes=100-199' }),
    );
    expect((await bytesOf(ranged.Body)).equals(body.subarray(100, 200))).toBe(true);
    expect(ranged.ContentRange).toBe(`bytes 100-199/${body.length}`);

    const head = await s3.send(new HeadObjectCommand({ Bucket: name, Key: 'dir/data.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(put.ETag);

    expect(
      await refusal(
        s3.send(new GetObjectCommand({ Bucket: name, Key: 'dir/data.bin', IfNoneMatch: put.ETag })),
      ),
    ).toMatchObject({ status: 304 });
    expect(
      await refusal(
        s3.send(new GetObjectCommand({ Bucket: name, Key: 'dir/data.bin', IfMatch: '"nope"' })),
      ),
    ).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket: name, Key: 'missing' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });

    // A checksum that does not match the bytes stores nothing.
    expect(
      await refusal(
        s3.send(
          new PutObjectCommand({
            Bucket: name,
            Key: 'bad',
            Body: 'hello',
            ChecksumCRC32: 'AAAAAA==',
          }),
        ),
      ),
    ).toEqual({ name: 'BadDigest', status: 400 });
    expect(
      await refusal(s3.send(new HeadObjectCommand({ Bucket: name, Key: 'bad' }))),
    ).toMatchObject({
      status: 404,
    });
    // Other checksum algorithms in the trailer, verified too.
    for (const algorithm of ['CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
      const out = await s3.send(
        new PutObjectCommand({
          Bucket: name,
          Key: `sum-${algorithm}`,
          Body: body,
          ChecksumAlgorithm: algorithm,
        }),
      );
      const back = await s3.send(
        new GetObjectCommand({ Bucket: name, Key: `sum-${algorithm}`, ChecksumMode: 'ENABLED' }),
      );
      expect((await bytesOf(back.Body)).equals(body)).toBe(true);
      const field = `Checksum${algorithm}` as const;
      expect(back[field]).toBe(out[field]);
    }

    // Copy, within and across buckets of the tenant.
    await s3.send(
      new CopyObjectCommand({ Bucket: name, Key: 'copy.bin', CopySource: `${name}/dir/data.bin` }),
    );
    const copied = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'copy.bin' }));
    expect((await bytesOf(copied.Body)).equals(body)).toBe(true);
    expect(copied.Metadata).toEqual({ colour: 'blue' });
  });

  it('listing: v2 with prefix, delimiter, continuation, StartAfter, encoding-type=url; v1 with markers', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-list');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    const keys = ['a/1', 'a/2', 'b/1', 'c', 'd e+f', 'z/deep/x'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: name, Key, Body: Key }));

    const all: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: name, MaxKeys: 2, ContinuationToken: token }),
      );
      all.push(...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(all).toEqual(keys);

    const rolled = await s3.send(new ListObjectsV2Command({ Bucket: name, Delimiter: '/' }));
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/', 'z/']);
    expect(rolled.Contents?.map((c) => c.Key)).toEqual(['c', 'd e+f']);

    const prefixed = await s3.send(new ListObjectsV2Command({ Bucket: name, Prefix: 'a/' }));
    expect(prefixed.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: name, StartAfter: 'b/1' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['c', 'd e+f', 'z/deep/x']);
    // The SDK asks for encoding-type=url by default in ListObjects and decodes the keys itself.
    const encoded = await s3.send(
      new ListObjectsV2Command({ Bucket: name, Prefix: 'd', EncodingType: 'url' }),
    );
    expect(
      encoded.Contents?.map((c) => decodeURIComponent((c.Key as string).replace(/\+/g, ' '))),
    ).toEqual(['d e+f']);

    const v1: string[] = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsCommand({ Bucket: name, MaxKeys: 4, Marker: marker, Delimiter: '/' }),
      );
      v1.push(
        ...(page.Contents ?? []).map((c) => c.Key as string),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string),
      );
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker);
    expect(v1.sort()).toEqual(['a/', 'b/', 'c', 'd e+f', 'z/']);

    const deleted = await s3.send(
      new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    expect(deleted.Deleted?.length).toBe(keys.length);
    const empty = await s3.send(new ListObjectsV2Command({ Bucket: name }));
    expect(empty.KeyCount).toBe(0);
  });

  it('multipart: lib-storage Upload (md5-of-md5s-N), ListParts, ListMultipartUploads, UploadPartCopy, Abort', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-multipart');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    const body = randomBytes(12 * MIB);
    const upload = new Upload({
      client: s3,
      params: { Bucket: name, Key: 'big.bin', Body: body },
      partSize: 5 * MIB,
      queueSize: 2,
    });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) =>
      createHash('md5')
        .update(body.subarray(i * 5 * MIB, Math.min(body.length, (i + 1) * 5 * MIB)))
        .digest(),
    );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'big.bin' }));
    expect((await bytesOf(got.Body)).equals(body)).toBe(true);
    expect(got.ETag).toBe(expected);

    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: name, Key: 'pieces' }),
    );
    const uploadId = created.UploadId as string;
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: name }));
    expect(uploads.Uploads?.map((u) => u.UploadId)).toContain(uploadId);
    const copyPart = await s3.send(
      new UploadPartCopyCommand({
        Bucket: name,
        Key: 'pieces',
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${name}/big.bin`,
        CopySourceRange: `bytes=0-${5 * MIB - 1}`,
      }),
    );
    expect(copyPart.CopyPartResult?.ETag).toBe(`"${partMd5s[0].toString('hex')}"`);
    const parts = await s3.send(
      new ListPartsCommand({ Bucket: name, Key: 'pieces', UploadId: uploadId }),
    );
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MIB]]);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: name,
        Key: 'pieces',
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copyPart.CopyPartResult?.ETag }] },
      }),
    );
    const assembled = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'pieces' }));
    expect((await bytesOf(assembled.Body)).equals(body.subarray(0, 5 * MIB))).toBe(true);

    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket: name, Key: 'dropped' }));
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: name, Key: 'dropped', UploadId: other.UploadId }),
    );
    expect(
      await refusal(
        s3.send(new ListPartsCommand({ Bucket: name, Key: 'dropped', UploadId: other.UploadId })),
      ),
    ).toEqual({ name: 'NoSuchUpload', status: 404 });
  }, 120_000);

  it('ListMultipartUploads pages by key and upload id markers; a malformed marker is InvalidArgument', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-uploads');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    // Two uploads of key b, one each of a and c: five in key-then-initiation order.
    const started: Array<{ key: string; id: string }> = [];
    for (const key of ['b', 'a', 'c', 'b', 'logs/x']) {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: name, Key: key }));
      started.push({ key, id: created.UploadId as string });
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: name }));
    const order = (all.Uploads ?? []).map((u) => [u.Key, u.UploadId]);
    expect(order).toEqual([
      ['a', started[1]?.id],
      ['b', started[0]?.id],
      ['b', started[3]?.id],
      ['c', started[2]?.id],
      ['logs/x', started[4]?.id],
    ]);
    expect(all.IsTruncated).toBe(false);

    const seen: unknown[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (let pages = 1; ; pages++) {
      const page = await s3.send(
        new ListMultipartUploadsCommand({
          Bucket: name,
          MaxUploads: 2,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      seen.push(...(page.Uploads ?? []).map((u) => [u.Key, u.UploadId]));
      if (!page.IsTruncated) {
        expect(pages).toBe(3);
        break;
      }
      expect(page.NextKeyMarker).toBe(page.Uploads?.at(-1)?.Key);
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    expect(seen).toEqual(order);
    // A key marker alone skips every upload of that key.
    const afterB = await s3.send(new ListMultipartUploadsCommand({ Bucket: name, KeyMarker: 'b' }));
    expect((afterB.Uploads ?? []).map((u) => u.Key)).toEqual(['c', 'logs/x']);
    const prefixed = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: name, Prefix: 'logs/' }),
    );
    expect((prefixed.Uploads ?? []).map((u) => u.Key)).toEqual(['logs/x']);
    expect(
      await refusal(
        s3.send(
          new ListMultipartUploadsCommand({
            Bucket: name,
            KeyMarker: 'a',
            UploadIdMarker: 'not-an-id',
          }),
        ),
      ),
    ).toEqual({ name: 'InvalidArgument', status: 400 });
    for (const u of started) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: name, Key: u.key, UploadId: u.id }));
    }
  }, 120_000);

  it('versioning and lifecycle: versions and delete markers, rules shared with the native API', async () => {
    const s3 = client(aliceKeys);
    const name = bucketName('sdk-versions');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: name,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: name }))).Status).toBe(
      'Enabled',
    );
    const v1 = await s3.send(new PutObjectCommand({ Bucket: name, Key: 'doc', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: name, Key: 'doc', Body: 'two' }));
    expect(v1.VersionId).not.toBe(v2.VersionId);
    const removed = await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'doc' }));
    expect(removed.DeleteMarker).toBe(true);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: name }));
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual(
      [v1.VersionId, v2.VersionId].sort(),
    );
    expect(versions.DeleteMarkers?.map((m) => m.IsLatest)).toEqual([true]);
    const old = await s3.send(
      new GetObjectCommand({ Bucket: name, Key: 'doc', VersionId: v1.VersionId }),
    );
    expect(await old.Body?.transformToString()).toBe('one');
    const native = await t
      .http()
      .get(`/storage/versions/${name}/doc`)
      .set('x-api-key', alice.apiKey)
      .expect(200);
    expect((native.body as { versions: unknown[] }).versions).toHaveLength(3);

    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: name,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'logs',
              Status: 'Enabled',
              Filter: { Prefix: 'logs/' },
              Expiration: { Days: 30 },
            },
          ],
        },
      }),
    );
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name }));
    expect(lifecycle.Rules?.map((r) => [r.Filter?.Prefix, r.Expiration?.Days])).toEqual([
      ['logs/', 30],
    ]);
    const rules = await t
      .http()
      .get(`/storage/buckets/${name}/lifecycle`)
      .set('x-api-key', alice.apiKey)
      .expect(200);
    expect(JSON.stringify(rules.body)).toContain('"expiration_days":30');
  });

  it('virtual-host-style addressing names the bucket in the Host', async () => {
    const name = bucketName('sdk-vhost');
    await client(aliceKeys).send(new CreateBucketCommand({ Bucket: name }));
    // <bucket>.localhost resolves to loopback for this agent only (no DNS involved).
    const agent = new Agent({
      lookup: (_host, _opts, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]),
    });
    const s3 = client(aliceKeys, {
      endpoint: `http://localhost:${port}`,
      forcePathStyle: false,
      requestHandler: { httpAgent: agent },
    });
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'v/host.txt', Body: 'vhost' }));
    const got = await client(aliceKeys).send(
      new GetObjectCommand({ Bucket: name, Key: 'v/host.txt' }),
    );
    expect(await got.Body?.transformToString()).toBe('vhost');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: name }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['v/host.txt']);
    agent.destroy();
  });

  it('anonymous reads of a public bucket: Get (Range, conditions), Head, List v1/v2, HeadBucket, location; nothing else', async () => {
    const native = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    const pub = bucketName('sdk-public');
    unwrap(await native.POST('/storage/buckets', { body: { name: pub, is_public: true } }));
    const priv = bucketName('sdk-private');
    const s3 = client(aliceKeys);
    await s3.send(new CreateBucketCommand({ Bucket: priv }));
    const body = Buffer.from('hello, anonymous world');
    const put = await s3.send(
      new PutObjectCommand({ Bucket: pub, Key: 'docs/hello.txt', Body: body }),
    );
    await s3.send(new PutObjectCommand({ Bucket: pub, Key: 'top.txt', Body: 'top' }));
    await s3.send(new PutObjectCommand({ Bucket: priv, Key: 'secret.txt', Body: 'secret' }));
    const before = await countEvents(t, ['AccessDenied']);

    const anon = anonymousClient();
    const got = await anon.send(new GetObjectCommand({ Bucket: pub, Key: 'docs/hello.txt' }));
    expect((await bytesOf(got.Body)).equals(body)).toBe(true);
    expect(got.ETag).toBe(put.ETag);
    const ranged = await anon.send(
      new GetObjectCommand({ Bucket: pub, Key: 'docs/hello.txt', Range: 'bytes=0-4' }),
    );
    expect((await bytesOf(ranged.Body)).toString()).toBe('hello');
    expect(ranged.ContentRange).toBe(`bytes 0-4/${body.length}`);
    expect(
      await refusal(
        anon.send(
          new GetObjectCommand({ Bucket: pub, Key: 'docs/hello.txt', IfNoneMatch: put.ETag }),
        ),
      ),
    ).toMatchObject({ status: 304 });
    expect(
      await refusal(
        anon.send(new GetObjectCommand({ Bucket: pub, Key: 'docs/hello.txt', IfMatch: '"nope"' })),
      ),
    ).toEqual({ name: 'PreconditionFailed', status: 412 });
    const head = await anon.send(new HeadObjectCommand({ Bucket: pub, Key: 'docs/hello.txt' }));
    expect(head.ContentLength).toBe(body.length);
    expect(await refusal(anon.send(new GetObjectCommand({ Bucket: pub, Key: 'missing' })))).toEqual(
      { name: 'NoSuchKey', status: 404 },
    );
    const v2 = await anon.send(new ListObjectsV2Command({ Bucket: pub, Delimiter: '/' }));
    expect(v2.Contents?.map((c) => c.Key)).toEqual(['top.txt']);
    expect(v2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['docs/']);
    const v1 = await anon.send(new ListObjectsCommand({ Bucket: pub }));
    expect(v1.Contents?.map((c) => c.Key)).toEqual(['docs/hello.txt', 'top.txt']);
    // The owning tenant's id is not shown to an anonymous reader.
    expect(v1.Contents?.[0].Owner).toBeUndefined();
    await anon.send(new HeadBucketCommand({ Bucket: pub }));
    const location = await anon.send(new GetBucketLocationCommand({ Bucket: pub }));
    expect(location.LocationConstraint ?? '').toBe('');

    const denied = { name: 'AccessDenied', status: 403 };
    // Writes, other reads of a public bucket, and ListBuckets need a signature.
    for (const refused of [
      () => anon.send(new PutObjectCommand({ Bucket: pub, Key: 'top.txt', Body: 'overwritten' })),
      () => anon.send(new DeleteObjectCommand({ Bucket: pub, Key: 'top.txt' })),
      () =>
        anon.send(
          new DeleteObjectsCommand({ Bucket: pub, Delete: { Objects: [{ Key: 'top.txt' }] } }),
        ),
      () =>
        anon.send(
          new CopyObjectCommand({ Bucket: pub, Key: 'copy', CopySource: `${pub}/top.txt` }),
        ),
      () => anon.send(new CreateMultipartUploadCommand({ Bucket: pub, Key: 'mp' })),
      () => anon.send(new ListObjectVersionsCommand({ Bucket: pub })),
      () => anon.send(new ListMultipartUploadsCommand({ Bucket: pub })),
      () => anon.send(new GetBucketVersioningCommand({ Bucket: pub })),
      () => anon.send(new GetBucketLifecycleConfigurationCommand({ Bucket: pub })),
      () => anon.send(new DeleteBucketCommand({ Bucket: pub })),
      () => anon.send(new CreateBucketCommand({ Bucket: bucketName('sdk-anon') })),
      () => anon.send(new ListBucketsCommand({})),
    ]) {
      expect(await refusal(refused()), refused.toString()).toEqual(denied);
    }
    // A private bucket and a bucket that does not exist are refused alike.
    const missing = bucketName('sdk-missing');
    for (const bucket of [priv, missing]) {
      expect(
        await refusal(anon.send(new GetObjectCommand({ Bucket: bucket, Key: 'secret.txt' }))),
      ).toEqual(denied);
      // A HEAD answer has no body: the SDK sees only the status.
      expect(await refusal(anon.send(new HeadBucketCommand({ Bucket: bucket })))).toMatchObject({
        status: 403,
      });
      expect(await refusal(anon.send(new ListObjectsV2Command({ Bucket: bucket })))).toEqual(
        denied,
      );
    }
    const privateAnswer = await unsigned('GET', `/${priv}/secret.txt`);
    const missingAnswer = await unsigned('GET', `/${missing}/secret.txt`);
    expect(privateAnswer.status).toBe(403);
    expect(missingAnswer.status).toBe(403);
    const codeAndMessage = (xml: string) => /<Code>.*<\/Message>/.exec(xml)?.[0];
    expect(codeAndMessage(privateAnswer.body)).toContain('<Code>AccessDenied</Code>');
    expect(codeAndMessage(privateAnswer.body)).toBe(codeAndMessage(missingAnswer.body));
    // Still there, unchanged: nothing was written.
    const still = await s3.send(new GetObjectCommand({ Bucket: pub, Key: 'top.txt' }));
    expect(await still.Body?.transformToString()).toBe('top');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    // A signed request acts in its own tenant: another tenant's public bucket is NoSuchBucket
    // there, as on the native API (the public reading is anonymous).
    expect(
      await refusal(client(bobKeys).send(new GetObjectCommand({ Bucket: pub, Key: 'top.txt' }))),
    ).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  it('records denials as AccessDenied (IAM, anonymous, bad signature); the audit log shows them; the tenant wall stays 404', async () => {
    // Earlier tests' refusals from this address fill the recorder's per-minute budget.
    t.app.get(Clock).advance(61_000);
    const carol = await sdkSignUp(t, 's3sdk-carol');
    const carolKeys = await s3Key(carol);
    const s3 = client(carolKeys);
    const name = bucketName('sdk-denied');
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    const policy = unwrap(
      await carol.sdk.POST('/iam/policies', {
        body: {
          name: 'NoObjectWrites',
          statements: [{ effect: 'Deny', action: ['storage:put'], resource: ['*'] }],
        },
      }),
    );
    const attached = await carol.sdk.POST('/iam/users/{userId}/policies/{policyId}', {
      params: { path: { userId: carol.userId, policyId: policy.id } },
    });
    expect(attached.response.status).toBe(204);
    const before = await countEvents(t, ['AccessDenied']);

    const { refused, requestId } = await refusalWithId(
      s3.send(new PutObjectCommand({ Bucket: name, Key: 'notes/k.txt', Body: 'v' })),
    );
    expect(refused).toEqual({ name: 'AccessDenied', status: 403 });
    expect(requestId).toMatch(/^[0-9A-F]{16}$/);
    const bucketArn = `arn:nimbus:storage:${carol.tenantId}:bucket/${name}`;
    const denial = (await eventsOfType(t, 'AccessDenied')).find(
      (e) => (e.data.details as { key?: string } | undefined)?.key === 'notes/k.txt',
    );
    expect(denial?.stream_id).toBe(`access-${carol.tenantId}`);
    expect(denial?.data).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      method: 'PUT',
      path: `/${name}/notes/k.txt`,
      action: 'storage:put',
      resource: bucketArn,
      details: {
        access_key_id: carolKeys.accessKeyId,
        operation: 'PutObject',
        bucket: name,
        key: 'notes/k.txt',
        service: 's3',
      },
    });
    // The tenant's audit log shows it: who, which bucket, S3's request id.
    const audit = await pollUntil(
      () => carol.sdk.GET('/audit', { params: { query: { status: 'denied' } } }),
      (page) => itemsOf(page).some((r) => r.request_id === requestId),
      20_000,
    );
    expect(itemsOf(audit).find((r) => r.request_id === requestId)).toMatchObject({
      actor: carol.email,
      action: 'ACCESS_DENIED',
      resource: bucketArn,
      status: 'denied',
    });

    // Another tenant's bucket is NoSuchBucket for bob, as a missing one: not a recorded denial.
    const bobDenials = async () =>
      (await eventsOfType(t, 'AccessDenied')).filter(
        (e) => e.stream_id === `access-${bob.tenantId}`,
      ).length;
    const bobBefore = await bobDenials();
    expect(
      await refusal(client(bobKeys).send(new GetObjectCommand({ Bucket: name, Key: 'x' }))),
    ).toEqual({ name: 'NoSuchBucket', status: 404 });
    expect(await bobDenials()).toBe(bobBefore);

    // Unsigned writes and failed signatures are recorded like the native API's 401s: on the
    // source address, attributed to no tenant.
    const anonymous = await refusalWithId(
      anonymousClient().send(new PutObjectCommand({ Bucket: name, Key: 'anon.txt', Body: 'x' })),
    );
    expect(anonymous.refused).toEqual({ name: 'AccessDenied', status: 403 });
    const wrong = client({ ...carolKeys, secretAccessKey: 'y'.repeat(40) });
    const badSignature = await refusalWithId(wrong.send(new ListBucketsCommand({})));
    expect(badSignature.refused).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    const all = await eventsOfType(t, 'AccessDenied');
    const byRequest = (id: string | undefined) =>
      all.find((e) => (e as { metadata?: { requestId?: string } }).metadata?.requestId === id);
    expect(byRequest(anonymous.requestId)?.stream_id).toMatch(/^access-ip-/);
    expect(byRequest(anonymous.requestId)?.data).toMatchObject({
      code: 'AccessDenied',
      action: 'storage:put',
      details: { operation: 'PutObject', bucket: name, key: 'anon.txt' },
    });
    expect(byRequest(badSignature.requestId)?.stream_id).toMatch(/^access-ip-/);
    expect(byRequest(badSignature.requestId)?.data).toMatchObject({
      code: 'SignatureDoesNotMatch',
      details: { access_key_id: carolKeys.accessKeyId },
    });
    // Denials append nothing else.
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('refuses a wrong secret, an unknown key, a tampered signature and a stale date; appends nothing', async () => {
    const name = bucketName('sdk-refused');
    await client(aliceKeys).send(new CreateBucketCommand({ Bucket: name }));
    const before = await countEvents(t, ['AccessDenied']);
    const wrong = client({
      ...aliceKeys,
      secretAccessKey: `${aliceKeys.secretAccessKey.slice(0, -1)}x`,
    });
    expect(
      await refusal(wrong.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'v' }))),
    ).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const unknown = client({
      accessKeyId: 'NIMBAAAAAAAAAAAAAAAA',
      secretAccessKey: 'x'.repeat(40),
    });
    expect(await refusal(unknown.send(new ListBucketsCommand({})))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    const stale = client(aliceKeys, { systemClockOffset: -20 * 60 * 1000 });
    expect(await refusal(stale.send(new ListBucketsCommand({})))).toEqual({
      name: 'RequestTimeTooSkewed',
      status: 403,
    });

    // A tampered signature: a valid request's Authorization with one hex digit changed.
    const tampered = client(aliceKeys);
    tampered.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        const auth = request.headers.authorization;
        const last = auth.slice(-1);
        request.headers.authorization = auth.slice(0, -1) + (last === '0' ? '1' : '0');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    expect(await refusal(tampered.send(new ListObjectsV2Command({ Bucket: name })))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    // Anonymous requests are refused with S3's XML error.
    const anonymous = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpRequest(`${endpoint}/${name}`, (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      })
        .on('error', reject)
        .end();
    });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain('<Code>AccessDenied</Code>');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    // A deleted key stops working with the next request.
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    const key = unwrap(await sdk.POST('/storage/access-keys'));
    const short = client({
      accessKeyId: key.access_key_id,
      secretAccessKey: key.secret_access_key,
    });
    await short.send(new ListBucketsCommand({}));
    unwrap(await sdk.DELETE('/storage/access-keys/{id}', { params: { path: { id: key.id } } }));
    expect(await refusal(short.send(new ListBucketsCommand({})))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
  });
});
