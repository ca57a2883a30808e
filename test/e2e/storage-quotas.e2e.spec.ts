/**
 * The bucket and stored-bytes quotas on the real app: declared by storage, shown by
 * GET /admin/quotas, enforced on the native API and the S3 endpoint alike (403 quota_exceeded /
 * S3 QuotaExceeded, nothing appended), released by a deletion; and a bucket's stored bytes in
 * GET /billing/usage.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNimbusClient, itemsOf, unwrap } from '../../src/sdk/client';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, countEvents, signUp, type Account } from './identity.helpers';

describe('storage quotas (e2e)', () => {
  let t: TestApp;
  let operator: Account;
  let tenant: Account;

  beforeAll(async () => {
    const operatorEmail = `storage-operator-${randomUUID()}@example.com`;
    t = await startTestApp({
      label: 'storage_quotas',
      config: { s3Port: 0, operatorEmails: [operatorEmail], authRateLimitPerMinute: 1000 },
    });
    operator = await signUp(t, 'storage-quota-operator');
    await t
      .http()
      .post('/auth/register')
      .send({ email: operatorEmail, password: operator.password, name: 'Operator' })
      .expect(201);
    const login = await t
      .http()
      .post('/auth/login')
      .send({ email: operatorEmail, password: operator.password });
    operator = { ...operator, accessToken: login.body.access_token as string };
    tenant = await signUp(t, 'storage-quota-tenant');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const MIB = 1024 * 1024;

  function s3For(key: { access_key_id: string; secret_access_key: string }): S3Client {
    return new S3Client({
      endpoint: `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
      maxAttempts: 1,
    });
  }

  async function storedBytesOf(account: Account): Promise<{ limit: number; usage: number }> {
    const shown = await t
      .http()
      .get(`/admin/quotas/${account.tenantId}`)
      .set(bearer(operator.accessToken))
      .expect(200);
    const quota = (
      shown.body.quotas as Array<{ name: string; context: string; limit: number; usage: number }>
    ).find((q) => q.name === 'stored_bytes');
    expect(quota).toMatchObject({ context: 'storage' });
    return { limit: quota?.limit ?? -1, usage: quota?.usage ?? -1 };
  }

  it('limits the buckets of a tenant on both APIs and frees a slot on deletion', async () => {
    const shown = await t
      .http()
      .get(`/admin/quotas/${tenant.tenantId}`)
      .set(bearer(operator.accessToken))
      .expect(200);
    expect(
      (shown.body.quotas as Array<{ name: string; context: string; limit: number }>).find(
        (q) => q.name === 'buckets',
      ),
    ).toMatchObject({
      context: 'storage',
      limit: 100,
    });
    await t
      .http()
      .put(`/admin/quotas/${tenant.tenantId}`)
      .set(bearer(operator.accessToken))
      .send({ buckets: 1 })
      .expect(200);

    const first = `quota-${randomUUID().slice(0, 8)}`;
    await t
      .http()
      .post('/storage/buckets')
      .set('x-api-key', tenant.apiKey)
      .send({ name: first })
      .expect(201);
    const before = await countEvents(t, ['AccessDenied']);
    const refused = await t
      .http()
      .post('/storage/buckets')
      .set('x-api-key', tenant.apiKey)
      .send({ name: `quota-${randomUUID().slice(0, 8)}` });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('quota_exceeded');
    // A name conflict is refused before the quota: nothing appended either.
    const taken = await t
      .http()
      .post('/storage/buckets')
      .set('x-api-key', tenant.apiKey)
      .send({ name: first });
    expect(taken.status).toBe(409);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    const key = unwrap(
      await createNimbusClient({ endpoint: t.baseUrl, apiKey: tenant.apiKey }).POST(
        '/storage/access-keys',
      ),
    );
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
      maxAttempts: 1,
    });
    const afterKey = await countEvents(t, ['AccessDenied']);
    const s3Refused = await s3
      .send(new CreateBucketCommand({ Bucket: `quota-${randomUUID().slice(0, 8)}` }))
      .catch((e: unknown) => e);
    expect(s3Refused).toBeInstanceOf(S3ServiceException);
    expect((s3Refused as S3ServiceException).name).toBe('QuotaExceeded');
    expect(await countEvents(t, ['AccessDenied'])).toBe(afterKey);
    await s3.send(new DeleteBucketCommand({ Bucket: first }));
    await s3.send(new CreateBucketCommand({ Bucket: `quota-${randomUUID().slice(0, 8)}` }));
  });

  it('limits the stored bytes of a tenant on both APIs (multipart too); a delete frees room', async () => {
    const owner = await signUp(t, 'storage-bytes-tenant');
    expect(await storedBytesOf(owner)).toEqual({ limit: 10 * 1024 * MIB, usage: 0 });
    await t
      .http()
      .put(`/admin/quotas/${owner.tenantId}`)
      .set(bearer(operator.accessToken))
      .send({ stored_bytes: 6 * MIB })
      .expect(200);
    const name = `bytes-${randomUUID().slice(0, 8)}`;
    const api = () => t.http();
    await api().post('/storage/buckets').set('x-api-key', owner.apiKey).send({ name }).expect(201);
    const put = (key: string, bytes: number) =>
      api()
        .put(`/storage/${name}/${key}`)
        .set('x-api-key', owner.apiKey)
        .set('content-type', 'application/octet-stream')
        .send(Buffer.alloc(bytes, 'x'));

    expect((await put('a.bin', 4 * MIB)).status).toBe(200);
    expect(await storedBytesOf(owner)).toEqual({ limit: 6 * MIB, usage: 4 * MIB });

    // Over the limit: refused on the native API, the S3 endpoint and a multipart completion.
    const init = await api()
      .post(`/storage/multipart/init/${name}/big.bin`)
      .set('x-api-key', owner.apiKey)
      .expect(201);
    const uploadId = init.body.id as string;
    await api()
      .put(`/storage/multipart/upload/${uploadId}/parts?part_number=1`)
      .set('x-api-key', owner.apiKey)
      .set('content-type', 'application/octet-stream')
      .send(Buffer.alloc(5 * MIB, 'p'))
      .expect(200);
    const key = unwrap(
      await createNimbusClient({ endpoint: t.baseUrl, apiKey: owner.apiKey }).POST(
        '/storage/access-keys',
      ),
    );
    const s3 = s3For(key);
    const before = await countEvents(t, ['AccessDenied']);
    const refused = await put('b.bin', 3 * MIB);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('quota_exceeded');
    expect(refused.body.error.details).toMatchObject({ quota: 'stored_bytes', limit: 6 * MIB });
    const s3Refused = await s3
      .send(new PutObjectCommand({ Bucket: name, Key: 'c.bin', Body: Buffer.alloc(3 * MIB) }))
      .catch((e: unknown) => e);
    expect(s3Refused).toBeInstanceOf(S3ServiceException);
    expect((s3Refused as S3ServiceException).name).toBe('QuotaExceeded');
    const completeRefused = await api()
      .post(`/storage/multipart/complete/${uploadId}`)
      .set('x-api-key', owner.apiKey)
      .send({ parts: [{ part_number: 1 }] });
    expect(completeRefused.status).toBe(403);
    expect(completeRefused.body.error.code).toBe('quota_exceeded');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    const listed = await api().get(`/storage/${name}`).set('x-api-key', owner.apiKey).expect(200);
    expect(JSON.stringify(listed.body)).not.toMatch(/b\.bin|c\.bin|big\.bin/);
    expect((await storedBytesOf(owner)).usage).toBe(4 * MIB);

    // A delete gives the bytes back: the completion and an S3 PUT now fit (exactly the limit).
    await api().delete(`/storage/${name}/a.bin`).set('x-api-key', owner.apiKey).expect(200);
    expect((await storedBytesOf(owner)).usage).toBe(0);
    await api()
      .post(`/storage/multipart/complete/${uploadId}`)
      .set('x-api-key', owner.apiKey)
      .send({ parts: [{ part_number: 1 }] })
      .expect(200);
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'c.bin', Body: Buffer.alloc(MIB) }));
    expect((await storedBytesOf(owner)).usage).toBe(6 * MIB);
    // Replacing an object counts only the difference.
    expect((await put('c.bin', MIB / 2)).status).toBe(200);
    expect((await storedBytesOf(owner)).usage).toBe(5 * MIB + MIB / 2);
  });

  it("bills a bucket's stored bytes in GET /billing/usage (storage:object-gb, per GiB-hour)", async () => {
    const owner = await signUp(t, 'storage-billing-tenant');
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: owner.apiKey });
    const name = `billed-${randomUUID().slice(0, 8)}`;
    const created = await t
      .http()
      .post('/storage/buckets')
      .set('x-api-key', owner.apiKey)
      .send({ name })
      .expect(201);
    const bucketId = created.body.id as string;
    for (const [key, bytes] of [
      ['one.bin', 3000],
      ['two.bin', 2000],
    ] as const) {
      await t
        .http()
        .put(`/storage/${name}/${key}`)
        .set('x-api-key', owner.apiKey)
        .set('content-type', 'application/octet-stream')
        .send(Buffer.alloc(bytes, 'x'))
        .expect(200);
    }
    await t.http().delete(`/storage/${name}/one.bin`).set('x-api-key', owner.apiKey).expect(200);
    type Row = { resource_id: string; quantity: number; unit: string; description: string };
    let rows: Row[] = [];
    for (let i = 0; i < 80; i += 1) {
      rows = (itemsOf(unwrap(await sdk.GET('/billing/usage'))) as Row[]).filter(
        (r) => r.resource_id === bucketId,
      );
      if (rows.some((r) => r.quantity === 2000)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(rows.find((r) => r.quantity === 2000)).toMatchObject({
      resource_type: 'storage',
      unit: 'GB-hour',
      description: `Bucket ${name} (2000 bytes)`,
      unit_price: 0.000032,
    });
  });
});
