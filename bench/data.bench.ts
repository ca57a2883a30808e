/**
 * Data benchmark on the real Docker engine and engine images (nimbus/postgres:15, nimbus/redis:7):
 *
 * - provision-to-RUNNING of databases (pooling off) and caches (32 MiB) through the API, one at a
 *   time, each from the POST to its provisioning saga recording RUNNING (password in the secrets
 *   store, volume, container, the owner's login or AUTH+PING answering, every step recorded);
 * - in the same run, the floor the engine sets: a bare `docker run -d` of the same image, command
 *   and environment, plus the same readiness (the owner logs in to PostgreSQL; AUTH + PING to
 *   Redis), polled at the drivers' own intervals; the bench prints both p50s and their ratio (aim:
 *   at most 2x);
 * - pgbench (the host's binary, TPC-B-like, scale 1) through the connection string the API
 *   returns, with pooling on (pgbouncer, session mode) and beside it on the server's direct port,
 *   once with persistent connections and once with a new connection per transaction (`-C`, where
 *   a pooler matters).
 *
 * Printed and written to bench/results/data.json. BENCH_DATA_SAMPLES (default 5) provisions of
 * each kind; BENCH_DATA_PGBENCH_SECONDS (default 10) per pgbench run. The API runs in this
 * process on a fresh database; every container and volume it or the bench made is removed at the
 * end. Traffic goes to 127.0.0.1 and the local Docker socket only.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';

import {
  CACHE_DELETE_SAGA,
  CACHE_PROVISION_SAGA,
} from '../sagas/cache-provision/cache-provision.saga';
import {
  DATABASE_DELETE_SAGA,
  DATABASE_PROVISION_SAGA,
} from '../sagas/database-provision/database-provision.saga';
import type { SagaRuntime } from '../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../sagas/runtime/sagas.module';
import { loadConfig, type AppConfig } from '../src/config/config';
import { createApp } from '../src/create-app';
import { EngineContainers, LABEL_INSTALLATION } from '../src/drivers/engines/engine-containers';
import { PostgresEngine, scramVerifier } from '../src/drivers/engines/postgres-engine';
import { RedisEngine, REDIS_IMAGE } from '../src/drivers/engines/redis-engine';
import { installationIdOf } from '../src/drivers/installation-id';
import { createRootLogger } from '../src/platform/logging';
import { environment, findPgbench, freshDatabase, writeResults } from './support';

const SAMPLES = Number(process.env.BENCH_DATA_SAMPLES ?? 5);
const PGBENCH_SECONDS = Number(process.env.BENCH_DATA_PGBENCH_SECONDS ?? 10);
const PGBENCH_CLIENTS = 8;
const LABEL = 'nimbus.bench';
const RUN = `data-${randomUUID().slice(0, 8)}`;
const run = promisify(execFile);

interface LatencySummary {
  p50: number;
  p95: number;
  min: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    min: Math.round(sorted[0] ?? NaN),
    max: Math.round(sorted[sorted.length - 1] ?? NaN),
  };
}

function line(label: string, s: LatencySummary): string {
  return `${label.padEnd(34)} p50 ${s.p50} ms  p95 ${s.p95} ms  min ${s.min} ms  max ${s.max} ms`;
}

/** A loopback port nothing listens on now (the OS's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function postJson(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function getJson(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { headers });
  return (await res.json()) as Record<string, unknown>;
}

async function removeAll(docker: Dockerode, label: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
  for (const v of Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  }
}

/** `docker run -d` of what a database's server container is, then the owner's first login. */
async function rawPostgres(engine: PostgresEngine, index: number): Promise<number> {
  const port = await freePort();
  const name = `${RUN}-pg-${index}`;
  const password = `bench-${randomUUID()}`;
  const started = performance.now();
  await run('docker', [
    'run',
    '-d',
    '--name',
    name,
    '--label',
    `${LABEL}=${RUN}`,
    '--network',
    'host',
    '--restart',
    'unless-stopped',
    '--mount',
    `type=volume,source=${name}-data,target=/var/lib/nimbus,volume-label=${LABEL}=${RUN}`,
    '-e',
    `NIMBUS_PG_PORT=${port}`,
    '-e',
    'NIMBUS_PG_USER=nimbus',
    '-e',
    'NIMBUS_PG_DB=bench',
    '-e',
    `NIMBUS_PG_VERIFIER=${scramVerifier(password)}`,
    engine.image('15'),
    'primary',
  ]);
  await engine.waitReady(
    { host: '127.0.0.1', port },
    { user: 'nimbus', password, dbName: 'bench' },
  );
  return performance.now() - started;
}

/** `docker run -d` of what a cache's container is, then AUTH + PING. */
async function rawRedis(engine: RedisEngine, index: number): Promise<number> {
  const port = await freePort();
  const password = `bench-${randomUUID()}`;
  const hash = createHash('sha256').update(password, 'utf8').digest('hex');
  const started = performance.now();
  await run('docker', [
    'run',
    '-d',
    '--name',
    `${RUN}-redis-${index}`,
    '--label',
    `${LABEL}=${RUN}`,
    '--network',
    'host',
    '--restart',
    'unless-stopped',
    '--memory',
    '32m',
    '--memory-swap',
    '32m',
    '-e',
    `NIMBUS_REDIS_PORT=${port}`,
    '-e',
    'NIMBUS_REDIS_MAXMEMORY_MB=32',
    '-e',
    `NIMBUS_REDIS_PASSWORD_SHA256=${hash}`,
    REDIS_IMAGE,
  ]);
  await engine.waitReady({ host: '127.0.0.1', port }, password);
  return performance.now() - started;
}

interface PgbenchRun {
  target: 'pgbouncer' | 'direct';
  connectPerTransaction: boolean;
  clients: number;
  seconds: number;
  tps: number;
  transactions: number;
}

async function pgbench(
  binary: string,
  connection: string,
  target: PgbenchRun['target'],
  connectPerTransaction: boolean,
): Promise<PgbenchRun> {
  const args = [
    '--no-vacuum',
    `--client=${PGBENCH_CLIENTS}`,
    '--jobs=2',
    `--time=${PGBENCH_SECONDS}`,
    ...(connectPerTransaction ? ['--connect'] : []),
    connection,
  ];
  const { stdout } = await run(binary, args, { timeout: (PGBENCH_SECONDS + 60) * 1000 });
  const tps = /tps = ([\d.]+)/.exec(stdout);
  const tx = /number of transactions actually processed: (\d+)/.exec(stdout);
  if (!tps || !tx) throw new Error(`cannot parse pgbench output:\n${stdout}`);
  return {
    target,
    connectPerTransaction,
    clients: PGBENCH_CLIENTS,
    seconds: PGBENCH_SECONDS,
    tps: Math.round(Number(tps[1])),
    transactions: Number(tx[1]),
  };
}

async function main(): Promise<void> {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.ping();
  const pgbenchBinary = findPgbench();
  const db = await freshDatabase('data');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-data-'));
  const installation = `${LABEL_INSTALLATION}=${installationIdOf(dataDir)}`;
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_DOCKER: 'docker',
    NIMBUS_OVS: 'simulated',
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
  });
  const config: AppConfig = { ...base, dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0 };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  const containers = new EngineContainers(docker, `bench-${RUN}`);
  const postgres = new PostgresEngine(containers);
  const redis = new RedisEngine(containers);
  try {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address !== 'object') throw new Error('server has no address');
    const url = `http://127.0.0.1:${address.port}`;
    const runtime = app.get<SagaRuntime>(SAGA_RUNTIME);
    const email = `bench-${Date.now()}@example.com`;
    await postJson(url, '/auth/register', { email, password: 'bench-password-9f3k', name: 'B' });
    const login = await postJson(url, '/auth/login', { email, password: 'bench-password-9f3k' });
    const auth = { 'x-api-key': String(login.body.api_key) };

    const provision = async (
      kind: 'databases' | 'caches',
      body: Record<string, unknown>,
    ): Promise<{ id: string; ms: number }> => {
      const started = performance.now();
      const res = await postJson(url, `/${kind}`, body, auth);
      if (res.status !== 202)
        throw new Error(`POST /${kind}: ${res.status} ${JSON.stringify(res.body)}`);
      const id = String(res.body.id);
      const saga = kind === 'databases' ? DATABASE_PROVISION_SAGA : CACHE_PROVISION_SAGA;
      const settled = await runtime.whenSettled(saga, id, 300_000);
      const ms = performance.now() - started;
      if (settled.status !== 'completed') throw new Error(`${kind} ${id}: saga ${settled.status}`);
      return { id, ms };
    };
    const remove = async (kind: 'databases' | 'caches', id: string): Promise<void> => {
      await fetch(`${url}/${kind}/${id}`, { method: 'DELETE', headers: auth });
      const saga = kind === 'databases' ? DATABASE_DELETE_SAGA : CACHE_DELETE_SAGA;
      await runtime.whenSettled(saga, id, 120_000);
    };
    const dbBody = (name: string, pooling: boolean) => ({
      name,
      engine: 'postgres',
      version: '15',
      allocated_storage: 1,
      pooling_enabled: pooling,
    });

    console.log(
      `provision-to-RUNNING on real Docker: ${SAMPLES} of each, one at a time, database ${db.server}`,
    );
    // Warm-up (JIT, pools, page cache of the images): not measured.
    await remove('databases', (await provision('databases', dbBody('warm-up', false))).id);
    await remove('caches', (await provision('caches', { name: 'warm-up', memory_mb: 32 })).id);
    await rawPostgres(postgres, -1);
    await rawRedis(redis, -1);
    await removeAll(docker, `${LABEL}=${RUN}`);

    // Alternated, so that both sides see the same machine.
    const api = { databases: [] as number[], caches: [] as number[] };
    const raw = { databases: [] as number[], caches: [] as number[] };
    for (let i = 0; i < SAMPLES; i++) {
      raw.databases.push(await rawPostgres(postgres, i));
      const d = await provision('databases', dbBody(`bench-${i}`, false));
      api.databases.push(d.ms);
      raw.caches.push(await rawRedis(redis, i));
      const c = await provision('caches', { name: `bench-${i}`, memory_mb: 32 });
      api.caches.push(c.ms);
      await removeAll(docker, `${LABEL}=${RUN}`);
      await remove('databases', d.id);
      await remove('caches', c.id);
    }
    const summary = {
      databases: { api: summarise(api.databases), raw: summarise(raw.databases) },
      caches: { api: summarise(api.caches), raw: summarise(raw.caches) },
    };
    const ratio = {
      databases: Number((summary.databases.api.p50 / summary.databases.raw.p50).toFixed(2)),
      caches: Number((summary.caches.api.p50 / summary.caches.raw.p50).toFixed(2)),
    };
    console.log(line('database provision-to-RUNNING', summary.databases.api));
    console.log(line('raw docker run + login', summary.databases.raw));
    console.log(`database ratio (p50) ${ratio.databases} (aim: at most 2)`);
    console.log(line('cache provision-to-RUNNING', summary.caches.api));
    console.log(line('raw docker run + AUTH/PING', summary.caches.raw));
    console.log(`cache ratio (p50) ${ratio.caches} (aim: at most 2)`);

    let pgbenchRuns: PgbenchRun[] = [];
    if (!pgbenchBinary) {
      console.log('pgbench: not found on the host (PGBENCH, /usr/bin/pgbench); skipped');
    } else {
      const { id } = await provision('databases', dbBody('pgbench', true));
      const conn = await getJson(url, `/databases/${id}/connection`, auth);
      const pooled = String(conn.connection_string);
      const direct = pooled.replace(`:${String(conn.port)}/`, `:${String(conn.direct_port)}/`);
      await run(pgbenchBinary, ['--initialize', '--scale=1', '--quiet', direct]);
      pgbenchRuns = [
        await pgbench(pgbenchBinary, direct, 'direct', false),
        await pgbench(pgbenchBinary, pooled, 'pgbouncer', false),
        await pgbench(pgbenchBinary, direct, 'direct', true),
        await pgbench(pgbenchBinary, pooled, 'pgbouncer', true),
      ];
      for (const r of pgbenchRuns) {
        console.log(
          `pgbench ${r.target.padEnd(9)} ${r.connectPerTransaction ? 'connect per tx' : 'persistent    '}  ${r.clients} clients ${r.seconds}s: ${r.tps} tps (${r.transactions} tx)`,
        );
      }
      await remove('databases', id);
    }

    const file = writeResults('data', {
      bench: 'data',
      at: new Date().toISOString(),
      environment: environment(),
      docker: (await docker.version()).Version,
      samples: SAMPLES,
      provisionToRunningMs: { databases: summary.databases.api, caches: summary.caches.api },
      rawDockerRunReadyMs: { databases: summary.databases.raw, caches: summary.caches.raw },
      ratioToRaw: ratio,
      samplesMs: {
        databases: api.databases.map(Math.round),
        caches: api.caches.map(Math.round),
        rawDatabases: raw.databases.map(Math.round),
        rawCaches: raw.caches.map(Math.round),
      },
      pgbench: {
        binary: pgbenchBinary,
        script: 'tpcb-like (built-in), scale 1, pgbouncer pool_mode=session',
        runs: pgbenchRuns,
      },
    });
    console.log(`results written to ${file}`);
  } finally {
    await app.close();
    await removeAll(docker, `${LABEL}=${RUN}`);
    await removeAll(docker, installation);
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
