/**
 * Object storage benchmark, through the S3 endpoint with @aws-sdk/client-s3 on loopback:
 * - 64 MiB PUT and GET throughput, beside the same disk's `dd conv=fdatasync` write and a plain
 *   read of a file of the same size, measured in the same run (the ceilings);
 * - 4 KiB PUT and GET operations per second at 16 concurrent clients, and unsigned GETs of a
 *   public bucket's 4 KiB objects (no signature check, no IAM evaluation: the public-bucket path);
 * - peak RSS of this process (server and client together) while a 1 GiB object is uploaded from
 *   a generated stream (never a whole object in memory).
 * The app and the client share this process (and the machine's CPUs): the ratios are a lower
 * bound. Numbers are printed and written to bench/results/storage.json; nothing is asserted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import { loadConfig, type AppConfig } from '../src/config/config';
import { createApp } from '../src/create-app';
import { createRootLogger } from '../src/platform/logging';
import { S3Endpoint } from '../src/storage/s3/s3-endpoint';
import { environment, fmt, freshDatabase, writeResults } from './support';

const MIB = 1024 * 1024;
const BIG_MIB = Number(process.env.BENCH_STORAGE_BIG_MIB ?? 64);
const HUGE_MIB = Number(process.env.BENCH_STORAGE_HUGE_MIB ?? 1024);
const SMALL_BYTES = 4096;
const CLIENTS = Number(process.env.BENCH_STORAGE_CLIENTS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_STORAGE_ROUNDS ?? 3);

async function postJson(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** `dd conv=fdatasync` of `mib` MiB into `dir`: MiB/s as dd reports the elapsed time. */
async function ddWrite(dir: string, mib: number): Promise<number> {
  const { stderr } = await promisify(execFile)('dd', [
    'if=/dev/zero',
    `of=${join(dir, 'dd.bin')}`,
    'bs=1M',
    `count=${mib}`,
    'conv=fdatasync',
  ]);
  const seconds = Number(/copied, ([\d.]+) s/.exec(stderr)?.[1]);
  return mib / seconds;
}

async function plainRead(path: string): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: MIB }))
    bytes += (chunk as Buffer).length;
  return bytes / MIB / ((performance.now() - started) / 1000);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Operations per second of `op` run back to back by `clients` workers for `seconds`. */
async function opsPerSecond(clients: number, seconds: number, op: (i: number) => Promise<unknown>) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let sequence = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        try {
          await op(sequence++);
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { opsPerSecond: done / ((performance.now() - started) / 1000), operations: done, errors };
}

async function main(): Promise<void> {
  const db = await freshDatabase('storage');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-storage-'));
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
  });
  const config: AppConfig = {
    ...base,
    dataDir,
    databaseUrl: db.url,
    host: '127.0.0.1',
    port: 0,
    s3Port: 0,
  };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  try {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address !== 'object') throw new Error('server has no address');
    const url = `http://127.0.0.1:${address.port}`;
    const email = `bench-${Date.now()}@example.com`;
    await postJson(url, '/auth/register', {
      email,
      password: 'bench-password-9f3k',
      name: 'Bench',
    });
    const login = await postJson(url, '/auth/login', { email, password: 'bench-password-9f3k' });
    const key = await postJson(
      url,
      '/storage/access-keys',
      {},
      { 'x-api-key': String(login.api_key) },
    );
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: String(key.access_key_id),
        secretAccessKey: String(key.secret_access_key),
      },
    });
    const Bucket = `bench-${Date.now().toString(36)}`;
    await s3.send(new CreateBucketCommand({ Bucket }));

    // Peak RSS while a HUGE_MIB object streams in from a generator.
    let peak = process.memoryUsage().rss;
    const before = peak;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    const chunk = randomBytes(MIB);
    async function* generated() {
      for (let i = 0; i < HUGE_MIB; i++) yield chunk;
    }
    const hugeSeconds = await timed(() =>
      s3.send(
        new PutObjectCommand({
          Bucket,
          Key: 'huge',
          Body: Readable.from(generated()),
          ContentLength: HUGE_MIB * MIB,
        }),
      ),
    );
    clearInterval(sampler);

    // Large objects, alternating with the ceilings so both see the same disk state.
    const body = randomBytes(BIG_MIB * MIB);
    const put: number[] = [];
    const get: number[] = [];
    const dd: number[] = [];
    const read: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      dd.push(await ddWrite(dataDir, BIG_MIB));
      read.push(await plainRead(join(dataDir, 'dd.bin')));
      put.push(
        BIG_MIB /
          (await timed(() =>
            s3.send(new PutObjectCommand({ Bucket, Key: `big-${round}`, Body: body })),
          )),
      );
      get.push(
        BIG_MIB /
          (await timed(async () => {
            const out = await s3.send(new GetObjectCommand({ Bucket, Key: `big-${round}` }));
            for await (const _chunk of out.Body as Readable) {
              // drained
            }
          })),
      );
    }
    rmSync(join(dataDir, 'dd.bin'), { force: true });

    // Small objects at CLIENTS concurrent clients.
    const small = randomBytes(SMALL_BYTES);
    const written: string[] = [];
    const smallPut = await opsPerSecond(CLIENTS, SECONDS, async (i) => {
      const Key = `small/${i}`;
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: small }));
      written.push(Key);
    });
    const smallGet = await opsPerSecond(CLIENTS, SECONDS, async (i) => {
      const Key = written[i % written.length];
      const out = await s3.send(new GetObjectCommand({ Bucket, Key }));
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    });

    // The same reads, unsigned, from a public bucket (made by the native API).
    const PublicBucket = `bench-public-${Date.now().toString(36)}`;
    await postJson(
      url,
      '/storage/buckets',
      { name: PublicBucket, is_public: true },
      { 'x-api-key': String(login.api_key) },
    );
    const publicKeys = written.slice(0, 256);
    for (const Key of publicKeys) {
      await s3.send(new PutObjectCommand({ Bucket: PublicBucket, Key, Body: small }));
    }
    const anonymous = new S3Client({
      endpoint: `http://127.0.0.1:${app.get(S3Endpoint).port() as number}`,
      region: 'us-east-1',
      forcePathStyle: true,
      httpAuthSchemeProvider: () => [{ schemeId: 'smithy.api#noAuth' }],
      httpAuthSchemes: [
        {
          schemeId: 'smithy.api#noAuth',
          identityProvider: () => () => Promise.resolve({}),
          signer: { sign: (request) => Promise.resolve(request) },
        },
      ],
    });
    const anonymousGet = await opsPerSecond(CLIENTS, SECONDS, async (i) => {
      const Key = publicKeys[i % publicKeys.length];
      const out = await anonymous.send(new GetObjectCommand({ Bucket: PublicBucket, Key }));
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    });
    anonymous.destroy();

    const results = {
      at: new Date().toISOString(),
      environment: environment(),
      note: 'server and SDK client in one process on shared CPUs; ratios are against ceilings measured in the same run',
      largeObject: {
        mib: BIG_MIB,
        rounds: ROUNDS,
        putMiBps: median(put),
        getMiBps: median(get),
        ddFdatasyncWriteMiBps: median(dd),
        plainReadMiBps: median(read),
        putToDdRatio: median(put) / median(dd),
        getToReadRatio: median(get) / median(read),
        aim: { putToDdRatio: 0.5, getToReadRatio: 0.7 },
        samples: { put, get, dd, read },
      },
      smallObjects: {
        bytes: SMALL_BYTES,
        clients: CLIENTS,
        seconds: SECONDS,
        put: smallPut,
        get: smallGet,
        anonymousGetOfPublicBucket: anonymousGet,
      },
      hugeUpload: {
        mib: HUGE_MIB,
        seconds: hugeSeconds,
        MiBps: HUGE_MIB / hugeSeconds,
        rssBeforeMiB: before / MIB,
        peakRssMiB: peak / MIB,
        aimPeakRssMiB: 256,
      },
    };
    const file = writeResults('storage', results);
    const r = results.largeObject;
    console.log(
      `${BIG_MIB} MiB PUT ${r.putMiBps.toFixed(1)} MiB/s vs dd fdatasync ${r.ddFdatasyncWriteMiBps.toFixed(1)} MiB/s: ratio ${r.putToDdRatio.toFixed(2)} (aim >= 0.5)`,
    );
    console.log(
      `${BIG_MIB} MiB GET ${r.getMiBps.toFixed(1)} MiB/s vs plain read ${r.plainReadMiBps.toFixed(1)} MiB/s: ratio ${r.getToReadRatio.toFixed(2)} (aim >= 0.7)`,
    );
    console.log(
      `4 KiB at ${CLIENTS} clients: PUT ${fmt(smallPut.opsPerSecond)} ops/s (${smallPut.errors} errors), GET ${fmt(smallGet.opsPerSecond)} ops/s (${smallGet.errors} errors)`,
    );
    console.log(
      `4 KiB unsigned GET of a public bucket at ${CLIENTS} clients: ${fmt(anonymousGet.opsPerSecond)} ops/s (${anonymousGet.errors} errors)`,
    );
    console.log(
      `${HUGE_MIB} MiB upload: ${(HUGE_MIB / hugeSeconds).toFixed(1)} MiB/s, peak RSS ${(peak / MIB).toFixed(0)} MiB (before ${(before / MIB).toFixed(0)} MiB; aim < 256 MiB)`,
    );
    console.log(`results: ${file}`);
    s3.destroy();
  } finally {
    await app.close();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
