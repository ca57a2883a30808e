/**
 * The BlobStore contract on S3BlobStore. With NIMBUS_TEST_BLOB_S3_URL (+ _ACCESS_KEY_ID and
 * _SECRET_ACCESS_KEY) it runs against that server (MinIO, Ceph RGW, AWS S3); otherwise against
 * Nimbus's own S3-compatible endpoint: a test app on the filesystem adapter, a bucket and an
 * access key made through it, so a real S3 server over HTTP either way.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';

import { S3BlobStore } from '../../../src/drivers/blobs/s3-blob-store';
import type { TestApp } from '../../support/app';
import { nimbusS3Target, type NimbusS3Target } from '../../support/nimbus-s3';
import { blobStoreContract } from './blob-store.contract';

const external = process.env.NIMBUS_TEST_BLOB_S3_URL;
let app: TestApp | undefined;
let target: NimbusS3Target;

beforeAll(async () => {
  if (external) {
    target = {
      url: external,
      accessKeyId: process.env.NIMBUS_TEST_BLOB_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.NIMBUS_TEST_BLOB_S3_SECRET_ACCESS_KEY ?? '',
    };
  } else {
    ({ app, target } = await nimbusS3Target('s3blobs'));
  }
}, 60_000);
afterAll(async () => {
  await app?.close();
});

blobStoreContract(external ? `s3 (${external})` : 's3 (a Nimbus S3 endpoint)', async () => {
  // Each case in its own prefix of the one bucket.
  const prefix = `run-${randomUUID()}`;
  const store = new S3BlobStore({ ...target, url: `${target.url}/${prefix}`, region: 'us-east-1' });
  const u = new URL(target.url);
  const bucket = u.pathname.split('/').filter((s) => s)[0] ?? '';
  const base = [
    ...u.pathname
      .split('/')
      .filter((s) => s)
      .slice(1),
    prefix,
    'blobs',
    '',
  ]
    .join('/')
    .replace(/^\//, '');
  const client = new S3Client({
    endpoint: `${u.protocol}//${u.host}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  });
  return {
    store,
    leftovers: async () => {
      const page = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: base }),
      );
      return (page.Uploads ?? []).map((u) => `${u.Key} (upload ${u.UploadId})`);
    },
    blobIds: async () => {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base }));
      return (page.Contents ?? []).map((o) => (o.Key ?? '').slice(base.length));
    },
    crashedWrite: async () => {
      const Key = `${base}${randomUUID()}`;
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
      await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key,
          UploadId: created.UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1024, 1),
        }),
      );
    },
    dispose: async () => {
      store.close();
      client.destroy();
    },
  };
});
