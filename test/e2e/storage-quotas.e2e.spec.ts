/**
 * The bucket quota on the real app: declared by storage, shown by GET /admin/quotas, enforced on
 * the native API and the S3 endpoint alike (403 quota_exceeded / S3 QuotaExceeded, nothing
 * appended), released by a deletion.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNimbusClient, unwrap } from '../../src/sdk/client';
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
});
