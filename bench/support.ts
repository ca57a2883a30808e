/**
 * Helpers shared by the benchmarks: a PostgreSQL server (DATABASE_URL or an embedded one), a
 * fresh database per run, pgbench, and the JSON results file. Benchmarks print numbers; they
 * never assert.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import {
  quoteIdent,
  startEmbeddedPostgres,
  withDatabase,
  type PostgresServer,
} from '../src/database/postgres-server';

/** npm runs scripts from the package root. */
export const RESULTS_DIR = resolve(process.cwd(), 'bench', 'results');

export interface BenchDatabase {
  url: string;
  name: string;
  /** Where the server came from, for the report (no credentials). */
  server: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on DATABASE_URL's server, or on an embedded server started here. */
export async function freshDatabase(label: string): Promise<BenchDatabase> {
  let adminUrl = process.env.DATABASE_URL;
  let embedded: PostgresServer | undefined;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: join(process.cwd(), '.nimbus', 'bench-pg'),
      port: Number(process.env.NIMBUS_BENCH_PG_PORT ?? 54331),
      log: (m) => console.log(`[bench] ${m}`),
    });
    adminUrl = embedded.adminUrl;
  }
  const name = `nimbus_bench_${label}_${Date.now().toString(36)}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  const u = new URL(adminUrl);
  return {
    url: withDatabase(adminUrl, name),
    name,
    server: `${embedded ? 'embedded' : 'DATABASE_URL'} ${u.hostname}:${u.port || '5432'}`,
    drop: async () => {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      await embedded?.stop();
    },
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function serverSettings(url: string): Promise<Record<string, string>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
        WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers',
                       'max_connections', 'wal_level')`,
    );
    return Object.fromEntries(res.rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}

export function environment(): Record<string, string | number> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

const PGBENCH_CANDIDATES = ['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench'];

export function findPgbench(): string | null {
  const fromEnv = process.env.PGBENCH;
  if (fromEnv) return fromEnv;
  return PGBENCH_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface PgbenchResult {
  clients: number;
  seconds: number;
  transactions: number;
  tps: number;
}

/** Runs pgbench with a custom script for `seconds` and returns its tps (excluding connecting). */
export function runPgbench(
  pgbench: string,
  url: string,
  scriptFile: string,
  clients: number,
  seconds: number,
): Promise<PgbenchResult> {
  const args = [
    '--no-vacuum',
    '--protocol=simple',
    `--client=${clients}`,
    `--jobs=${Math.min(clients, Math.max(1, cpus().length))}`,
    `--time=${seconds}`,
    `--file=${scriptFile}`,
    url,
  ];
  return new Promise((resolvePromise, reject) => {
    execFile(pgbench, args, { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`pgbench failed: ${err.message}\n${stderr}`));
        return;
      }
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
      const tx = /number of transactions actually processed: (\d+)/.exec(stdout);
      if (!tps || !tx) {
        reject(new Error(`cannot parse pgbench output:\n${stdout}\n${stderr}`));
        return;
      }
      resolvePromise({ clients, seconds, transactions: Number(tx[1]), tps: Number(tps[1]) });
    });
  });
}

export function writeResults(name: string, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(results, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
  return file;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export type BenchJson = Record<string, unknown>;

/** The bench's signed-up caller of an app listening on 127.0.0.1. */
export interface BenchApi {
  url: string;
  tenantId: string;
  /** JSON in and out with the caller's API key; a status of 400 or more throws. */
  call(method: string, path: string, body?: unknown): Promise<BenchJson>;
}

/** Listens on a loopback port, signs a fresh user up and logs in with an API key. */
export async function listenAndSignUp(app: {
  listen(port: number, host: string): Promise<unknown>;
  getHttpServer(): { address(): unknown };
}): Promise<BenchApi> {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address !== 'object' || !('port' in address)) {
    throw new Error('server has no address');
  }
  const url = `http://127.0.0.1:${String(address.port)}`;
  let auth: Record<string, string> = {};
  const call = async (method: string, path: string, body?: unknown): Promise<BenchJson> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...auth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as BenchJson;
  };
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await call('POST', '/auth/register', { email, password: 'bench-password-9f3k', name: 'B' });
  const login = await call('POST', '/auth/login', { email, password: 'bench-password-9f3k' });
  auth = { 'x-api-key': String(login.api_key) };
  const me = await call('GET', '/me');
  return { url, tenantId: String((me.tenant as BenchJson).id), call };
}
