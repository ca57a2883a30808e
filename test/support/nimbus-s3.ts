import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { createNimbusClient, unwrap } from '../../src/sdk/client';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { signUp } from '../e2e/identity.helpers';
import { startTestApp, type TestApp } from './app';

export interface NimbusS3Target {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export async function nimbusS3Target(
  label: string,
): Promise<{ app: TestApp; target: NimbusS3Target }> {
  const t = await startTestApp({ label, config: { s3Port: 0 } });
  const account = await signUp(t, label);
  const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: account.apiKey });
  const key = unwrap(await sdk.POST('/storage/access-keys'));
  const endpoint = `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`;
  const bucket = `blobs-${randomUUID().slice(0, 8)}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return {
    app: t,
    target: {
      url: `${endpoint}/${bucket}`,
      accessKeyId: key.access_key_id,
      secretAccessKey: key.secret_access_key,
    },
  };
}
