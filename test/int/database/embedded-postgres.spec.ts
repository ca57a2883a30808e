/**
 * Two installations on one machine: two embedded PostgreSQL clusters with different data
 * directories and the same configured port must not share a server (issue: the second one used
 * to reuse the first one's server, and so its database).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type PostgresServer } from '../../../src/database/postgres-server';

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL: one server per data directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'nimbus-two-installations-'));
  // The server runs as the unprivileged `postgres` user when the tests run as root.
  chmodSync(root, 0o755);
  const dirA = join(root, 'a', 'pg');
  const dirB = join(root, 'b', 'pg');
  const servers: PostgresServer[] = [];
  const logs: string[] = [];
  let port = 0;

  beforeAll(async () => {
    port = await freeLoopbackPort();
  });
  afterAll(async () => {
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  const start = async (dataDir: string) => {
    const server = await startEmbeddedPostgres({
      dataDir,
      port,
      unsafeFast: true,
      log: (m) => logs.push(m),
    });
    servers.push(server);
    return server;
  };

  it('the second installation starts its own server on a free port, says so, and shares nothing', async () => {
    const a = await start(dirA);
    expect(a).toMatchObject({ embedded: true, port });
    await query(a.adminUrl, 'CREATE TABLE only_in_a (id int)');

    const b = await start(dirB);
    expect(b.embedded).toBe(true);
    expect(b.port).not.toBe(port);
    expect(logs.join('\n')).toMatch(
      new RegExp(
        `port ${port} is taken .* starting the embedded PostgreSQL on free port ${b.port}`,
      ),
    );
    const [served] = await query<{ data_directory: string }>(b.adminUrl, 'SHOW data_directory');
    expect(served.data_directory).toBe(dirB);
    const tables = await query<{ n: number }>(
      b.adminUrl,
      "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'only_in_a'",
    );
    expect(tables[0].n).toBe(0);
  });

  it('a server is reused only for its own data directory, found on the configured port or through its postmaster.pid', async () => {
    const againA = await start(dirA);
    expect(againA).toMatchObject({ embedded: false, port });
    const againB = await start(dirB);
    expect(againB.embedded).toBe(false);
    expect(againB.port).toBe(servers[1].port);
    const [served] = await query<{ data_directory: string }>(
      againB.adminUrl,
      'SHOW data_directory',
    );
    expect(served.data_directory).toBe(dirB);
  });
});
