/**
 * A Nimbus whose blobs live in S3 (NIMBUS_BLOB_STORE=s3), the S3 server being a second Nimbus's
 * S3 endpoint: objects put, read whole and by range, and a multipart upload through the first
 * one's S3 endpoint, their bytes found as objects in the second one's bucket; the cluster status
 * says s3 with its capacity unknown (null).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNimbusClient, unwrap } from '../../src/sdk/client';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { startTestApp, type TestApp } from '../support/app';
import { nimbusS3Target, type NimbusS3Target } from '../support/nimbus-s3';
import { signUp } from './identity.helpers';

const MIB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Nimbus on the S3 blob store (e2e)', () => {
  let backend: TestApp;
  let target: NimbusS3Target;
  let t: TestApp;
  let s3: S3Client;
  let apiKey: string;
  const bucket = `front-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    ({ app: backend, target } = await nimbusS3Target('s3backend'));
    t = await startTestApp({
      label: 's3front',
      config: { s3Port: 0, blobS3: { ...target, region: 'us-east-1' } },
    });
    const account = await signUp(t, 'front');
    apiKey = account.apiKey;
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey });
    const key = unwrap(await sdk.POST('/storage/access-keys'));
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    await t?.close();
    await backend?.close();
  });

  /** Objects the front's blobs became in the backend's bucket. */
  async function backendObjects(): Promise<{ key: string; size: number }[]> {
    const u = new URL(target.url);
    const client = new S3Client({
      endpoint: `${u.protocol}//${u.host}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: target,
    });
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: u.pathname.slice(1), Prefix: 'blobs/' }),
    );
    client.destroy();
    return (page.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0 }));
  }

  it('puts an object and reads it back whole and by range; its bytes are an object of the backend', async () => {
    const body = Buffer.from('bytes kept in another S3 server\n'.repeat(100));
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'docs/a.txt', Body: body }),
    );
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const whole = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/a.txt' }));
    expect(Buffer.from(await whole.Body!.transformToByteArray()).equals(body)).toBe(true);
    const part = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'docs/a.txt', Range: 'bytes=5-40' }),
    );
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(Buffer.from(await part.Body!.transformToByteArray()).toString()).toBe(
      body.subarray(5, 41).toString(),
    );
    expect(await backendObjects()).toContainEqual({
      key: expect.stringMatching(/^blobs\/[0-9a-f-]{36}$/),
      size: body.length,
    });
  });

  it('a multipart upload completes into one object read back intact, also by range', async () => {
    const body = Buffer.alloc(12 * MIB + 123);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'big.bin', Body: body },
      partSize: 5 * MIB,
      queueSize: 2,
    }).done();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(body));
    const range = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: 'big.bin',
        Range: `bytes=${5 * MIB - 10}-${5 * MIB + 9}`,
      }),
    );
    expect(
      Buffer.from(await range.Body!.transformToByteArray()).equals(
        body.subarray(5 * MIB - 10, 5 * MIB + 10),
      ),
    ).toBe(true);
    expect((await backendObjects()).map((o) => o.size)).toContain(body.length);
  });

  it('the cluster status names the s3 backend, healthy, its capacity unknown', async () => {
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey });
    const status = unwrap(await sdk.GET('/storage/cluster/status'));
    expect(status).toMatchObject({
      status: 'healthy',
      capacity_bytes: null,
      used_bytes: null,
      nodes: [{ backend: 's3', status: 'healthy', capacity_bytes: null, problem: null }],
    });
  });
});
