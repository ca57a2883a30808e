/**
 * The lifecycle job on the real app and PostgreSQL: a rule set through the S3 endpoint (mapped to
 * the native rules) expires the versions under its prefix once they are older than its days (the
 * clock moved), as ObjectVersionExpired events audited as OBJECT_EXPIRE, with their blobs
 * deleted; keys outside the prefix and younger versions stay; a second run expires nothing.
 */
import { BUCKETS_PROJECTION, OBJECTS_PROJECTION } from '../../projections/storage';
import { ProjectionWaiter } from '../../projections/runtime/projection-waiter';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNimbusClient, unwrap } from '../../src/sdk/client';
import { Clock } from '../../src/platform/clock';
import { LifecycleExpiration } from '../../src/storage/application/lifecycle-expiration';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { signUp, type Account } from './identity.helpers';

const DAY = 24 * 60 * 60 * 1000;

describe('storage lifecycle expiration (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let s3: S3Client;

  const blobCount = () =>
    readdirSync(join(t.config.dataDir, 'blobs', 'objects'), {
      recursive: true,
      withFileTypes: true,
    }).filter((e) => e.isFile()).length;

  beforeAll(async () => {
    t = await startTestApp({ label: 's3lifecycle', config: { s3Port: 0 } });
    alice = await signUp(t, 'lifecycle-alice');
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    const key = unwrap(await sdk.POST('/storage/access-keys'));
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
      maxAttempts: 1,
    });
  });

  /**
   * Waits until the storage read models hold everything this process appended: the job reads
   * them, and so do the S3 reads after it (the job's expirations are asynchronous, as lifecycle
   * rules are; the readable head can also trail open transactions on a loaded machine).
   */
  async function caughtUp(): Promise<void> {
    const head = t.app.get<EventStore>(EVENT_STORE).knownHeadPosition();
    if (!head) return;
    const projections = [BUCKETS_PROJECTION, OBJECTS_PROJECTION];
    expect(await t.app.get(ProjectionWaiter).waitFor(head, projections, 20_000)).toBe(true);
  }

  afterAll(async () => {
    t?.app.get(Clock).set(null);
    await t?.close();
  });

  it('expires old versions under the prefix as audited events and deletes their blobs', async () => {
    const clock = t.app.get(Clock);
    const Bucket = `life-${Math.random().toString(36).slice(2, 10)}`;
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'logs/old.log', Body: 'old' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep/old.txt', Body: 'keep' }));
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
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
    const blobsBefore = blobCount();
    await caughtUp();

    const job = t.app.get(LifecycleExpiration);
    expect(await job.run()).toBe(0);
    clock.set(new Date(Date.now() + 31 * DAY));
    try {
      expect(await job.run()).toBe(1);
      expect(await job.run()).toBe(0);
    } finally {
      clock.set(null);
    }
    await caughtUp();

    await expect(
      s3.send(new HeadObjectCommand({ Bucket, Key: 'logs/old.log' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'keep/old.txt' }));
    expect(blobCount()).toBe(blobsBefore - 1);

    const db = new Client({ connectionString: t.database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ type: string; actor: string }>(
        `SELECT event_type AS type, metadata->'actor'->>'id' AS actor FROM events WHERE event_type = 'ObjectVersionExpired'`,
      );
      expect(rows).toEqual([{ type: 'ObjectVersionExpired', actor: 'storage-lifecycle' }]);
    } finally {
      await db.end();
    }
    const deadline = Date.now() + 20_000;
    let actions: string[] = [];
    while (Date.now() < deadline) {
      const res = await conformingHttp(t)
        .get('/audit?limit=200')
        .set('x-api-key', alice.apiKey)
        .expect(200);
      actions = (res.body as Array<{ action: string }>).map((r) => r.action);
      if (actions.includes('OBJECT_EXPIRE')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(actions).toContain('OBJECT_EXPIRE');
  });
});
