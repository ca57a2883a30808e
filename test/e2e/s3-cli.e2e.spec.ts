/**
 * The S3 endpoint against the real AWS CLI from Debian's `awscli` package (/usr/bin/aws, spawned
 * with an argument array): mb, cp up and down with a byte compare, ls with a prefix, sync both
 * ways, a multipart upload above a lowered threshold, versioning through s3api, a presigned GET,
 * rm, rb; `--no-sign-request` reads of a public bucket. Under CI=true a missing CLI fails the
 * test; elsewhere it is skipped loudly.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';

import { createNimbusClient, unwrap } from '../../src/sdk/client';
import { S3Endpoint } from '../../src/storage/s3/s3-endpoint';
import { isCI } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { signUp } from './identity.helpers';

const AWS = '/usr/bin/aws';
const MIB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function requireCli(ctx: TestContext): void {
  if (existsSync(AWS)) return;
  const message = `${AWS} is missing: apt-get install awscli (as .ci/run does)`;
  if (isCI) throw new Error(`${message} (required under CI=true)`);
  console.warn(`\n[s3-cli] SKIPPING: ${message}\n`);
  ctx.skip();
}

describe('S3 endpoint with the AWS CLI (e2e)', () => {
  let t: TestApp;
  let work: string;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;
  let native: ReturnType<typeof createNimbusClient>;

  const aws = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    new Promise<Run>((resolve) => {
      execFile(
        AWS,
        [...args, '--endpoint-url', endpoint],
        { env: { ...env, ...extraEnv }, maxBuffer: 16 * MIB, timeout: 120_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  const ok = async (args: string[]) => {
    const run = await aws(args);
    expect(run.code, `aws ${args.join(' ')}\n${run.stderr}`).toBe(0);
    return run.stdout;
  };

  beforeAll(async () => {
    t = await startTestApp({ label: 's3cli', config: { s3Port: 0 } });
    endpoint = `http://127.0.0.1:${t.app.get(S3Endpoint).port() as number}`;
    const account = await signUp(t, 's3cli');
    native = createNimbusClient({ endpoint: t.baseUrl, apiKey: account.apiKey });
    const key = unwrap(await native.POST('/storage/access-keys'));
    work = mkdtempSync(join(tmpdir(), 'nimbus-s3cli-'));
    // A config of its own: the multipart threshold lowered to 5 MiB (the smallest part size).
    writeFileSync(
      join(work, 'config'),
      '[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n',
    );
    env = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_CONFIG_FILE: join(work, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'credentials'),
      AWS_ACCESS_KEY_ID: key.access_key_id,
      AWS_SECRET_ACCESS_KEY: key.secret_access_key,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
  });

  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('mb, cp up and down (single and multipart), ls, sync, versioning, presign, rm, rb', async (ctx) => {
    requireCli(ctx);
    const bucket = `cli-${Math.random().toString(36).slice(2, 10)}`;
    await ok(['s3', 'mb', `s3://${bucket}`]);
    expect(await ok(['s3', 'ls'])).toContain(bucket);

    const small = randomBytes(70_000);
    const big = randomBytes(12 * MIB + 123);
    writeFileSync(join(work, 'small.bin'), small);
    writeFileSync(join(work, 'big.bin'), big);
    await ok(['s3', 'cp', join(work, 'small.bin'), `s3://${bucket}/docs/small.bin`]);
    await ok(['s3', 'cp', join(work, 'big.bin'), `s3://${bucket}/docs/big.bin`]);
    await ok(['s3', 'cp', `s3://${bucket}/docs/small.bin`, join(work, 'small.back')]);
    await ok(['s3', 'cp', `s3://${bucket}/docs/big.bin`, join(work, 'big.back')]);
    expect(readFileSync(join(work, 'small.back')).equals(small)).toBe(true);
    expect(readFileSync(join(work, 'big.back')).equals(big)).toBe(true);
    // Above the threshold the CLI uploaded in parts: the ETag says how many.
    const head = JSON.parse(
      await ok(['s3api', 'head-object', '--bucket', bucket, '--key', 'docs/big.bin']),
    ) as { ETag: string; ContentLength: number };
    expect(head.ETag).toMatch(/-3"$/);
    expect(head.ContentLength).toBe(big.length);
    const smallHead = JSON.parse(
      await ok(['s3api', 'head-object', '--bucket', bucket, '--key', 'docs/small.bin']),
    ) as { ETag: string };
    expect(smallHead.ETag).toBe(`"${md5(small)}"`);

    const listed = await ok(['s3', 'ls', `s3://${bucket}/docs/`]);
    expect(listed).toContain('small.bin');
    expect(listed).toContain('big.bin');
    expect(await ok(['s3', 'ls', `s3://${bucket}/doc`])).toContain('PRE docs/');

    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    writeFileSync(join(tree, 'one.txt'), 'one');
    writeFileSync(join(tree, 'a', 'two.txt'), 'two');
    writeFileSync(join(tree, 'a', 'b', 'three with space.txt'), 'three');
    // sync uploads a file whose mtime is newer than the object's LastModified, which has whole
    // seconds (as S3's has): a file written in the second of its upload would go up again.
    const anHourAgo = new Date(Date.now() - 3_600_000);
    for (const file of ['one.txt', 'a/two.txt', 'a/b/three with space.txt']) {
      utimesSync(join(tree, file), anHourAgo, anHourAgo);
    }
    await ok(['s3', 'sync', tree, `s3://${bucket}/tree`]);
    const back = join(work, 'tree-back');
    await ok(['s3', 'sync', `s3://${bucket}/tree`, back]);
    expect(readFileSync(join(back, 'a', 'b', 'three with space.txt'), 'utf8')).toBe('three');
    expect(readFileSync(join(back, 'one.txt'), 'utf8')).toBe('one');
    // A second sync has nothing to do.
    expect((await ok(['s3', 'sync', tree, `s3://${bucket}/tree`])).trim()).toBe('');

    await ok([
      's3api',
      'put-bucket-versioning',
      '--bucket',
      bucket,
      '--versioning-configuration',
      'Status=Enabled',
    ]);
    const versioning = JSON.parse(
      await ok(['s3api', 'get-bucket-versioning', '--bucket', bucket]),
    ) as { Status: string };
    expect(versioning.Status).toBe('Enabled');
    writeFileSync(join(work, 'v.txt'), 'first');
    await ok(['s3', 'cp', join(work, 'v.txt'), `s3://${bucket}/v.txt`]);
    writeFileSync(join(work, 'v.txt'), 'second');
    await ok(['s3', 'cp', join(work, 'v.txt'), `s3://${bucket}/v.txt`]);
    const versions = JSON.parse(
      await ok(['s3api', 'list-object-versions', '--bucket', bucket, '--prefix', 'v.txt']),
    ) as { Versions: Array<{ VersionId: string; IsLatest: boolean }> };
    expect(versions.Versions).toHaveLength(2);
    const older = versions.Versions.find((v) => !v.IsLatest) as { VersionId: string };
    await ok([
      's3api',
      'get-object',
      '--bucket',
      bucket,
      '--key',
      'v.txt',
      '--version-id',
      older.VersionId,
      join(work, 'v.old'),
    ]);
    expect(readFileSync(join(work, 'v.old'), 'utf8')).toBe('first');

    const url = (
      await ok(['s3', 'presign', `s3://${bucket}/docs/small.bin`, '--expires-in', '300'])
    ).trim();
    expect(url).toContain('X-Amz-Signature=');
    const fetched = await fetch(url);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(small)).toBe(true);
    const tampered = await fetch(
      url.replace(
        /X-Amz-Signature=([0-9a-f])/,
        (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
      ),
    );
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

    await ok(['s3', 'rm', `s3://${bucket}/docs/small.bin`]);
    expect(await ok(['s3', 'ls', `s3://${bucket}/docs/`])).not.toContain('small.bin');
    // rb refuses a bucket that is not empty; rb --force empties it first.
    const refused = await aws(['s3', 'rb', `s3://${bucket}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('BucketNotEmpty');
    await ok([
      's3api',
      'put-bucket-versioning',
      '--bucket',
      bucket,
      '--versioning-configuration',
      'Status=Suspended',
    ]);
    const all = JSON.parse(await ok(['s3api', 'list-object-versions', '--bucket', bucket])) as {
      Versions?: Array<{ Key: string; VersionId: string }>;
      DeleteMarkers?: Array<{ Key: string; VersionId: string }>;
    };
    for (const v of [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])]) {
      await ok([
        's3api',
        'delete-object',
        '--bucket',
        bucket,
        '--key',
        v.Key,
        '--version-id',
        v.VersionId,
      ]);
    }
    await ok(['s3', 'rb', `s3://${bucket}`]);
    expect(await ok(['s3', 'ls'])).not.toContain(bucket);
  }, 300_000);

  it('--no-sign-request reads a public bucket (cp to stdout, ranged get-object, ls); writes, private buckets and ListBuckets are AccessDenied', async (ctx) => {
    requireCli(ctx);
    const pub = `cli-pub-${Math.random().toString(36).slice(2, 10)}`;
    const priv = `cli-priv-${Math.random().toString(36).slice(2, 10)}`;
    unwrap(await native.POST('/storage/buckets', { body: { name: pub, is_public: true } }));
    await ok(['s3', 'mb', `s3://${priv}`]);
    const data = randomBytes(50_000);
    writeFileSync(join(work, 'public.bin'), data);
    await ok(['s3', 'cp', join(work, 'public.bin'), `s3://${pub}/files/public.bin`]);
    await ok(['s3', 'cp', join(work, 'public.bin'), `s3://${priv}/files/private.bin`]);
    const anonymous = (args: string[]) => aws([...args, '--no-sign-request']);

    // To stdout: the object's bytes, byte for byte (latin1 keeps every byte as one char).
    const streamed = await new Promise<Buffer>((resolve, reject) => {
      execFile(
        AWS,
        [
          's3',
          'cp',
          `s3://${pub}/files/public.bin`,
          '-',
          '--no-sign-request',
          '--endpoint-url',
          endpoint,
        ],
        { env, encoding: 'buffer', maxBuffer: 16 * MIB, timeout: 120_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr.toString()}`)) : resolve(stdout),
      );
    });
    expect(md5(streamed)).toBe(md5(data));
    const ranged = await anonymous([
      's3api',
      'get-object',
      '--bucket',
      pub,
      '--key',
      'files/public.bin',
      '--range',
      'bytes=0-9',
      join(work, 'range.bin'),
    ]);
    expect(ranged.code, ranged.stderr).toBe(0);
    expect(readFileSync(join(work, 'range.bin')).equals(data.subarray(0, 10))).toBe(true);
    const listed = await anonymous(['s3', 'ls', `s3://${pub}/files/`]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('public.bin');

    const refusedWrite = await anonymous([
      's3',
      'cp',
      join(work, 'public.bin'),
      `s3://${pub}/x.bin`,
    ]);
    expect(refusedWrite.code).not.toBe(0);
    expect(refusedWrite.stderr).toContain('AccessDenied');
    const refusedPrivate = await anonymous(['s3', 'cp', `s3://${priv}/files/private.bin`, '-']);
    expect(refusedPrivate.code).not.toBe(0);
    expect(refusedPrivate.stderr).toMatch(/AccessDenied|403|Forbidden/);
    const refusedPrivateList = await anonymous(['s3', 'ls', `s3://${priv}/`]);
    expect(refusedPrivateList.code).not.toBe(0);
    expect(refusedPrivateList.stderr).toContain('AccessDenied');
    const refusedBuckets = await anonymous(['s3', 'ls']);
    expect(refusedBuckets.code).not.toBe(0);
    expect(refusedBuckets.stderr).toContain('AccessDenied');
    // The refused upload wrote nothing.
    expect(await ok(['s3', 'ls', `s3://${pub}/`])).not.toContain('x.bin');
  }, 120_000);

  it('a wrong secret and an unknown key are refused (a stale date: s3-sdk.e2e.spec.ts)', async (ctx) => {
    requireCli(ctx);
    const wrong = await aws(['s3', 'ls'], { AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('SignatureDoesNotMatch');
    const unknown = await aws(['s3', 'ls'], { AWS_ACCESS_KEY_ID: 'NIMBAAAAAAAAAAAAAAAA' });
    expect(unknown.stderr).toContain('InvalidAccessKeyId');
  }, 120_000);
});
