import { join } from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startEmbeddedPostgres, type PostgresServer } from '../../src/database/postgres-server';
import { removeDeadTestOwners } from './ovn-owner';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

let server: PostgresServer | undefined;

/**
 * One PostgreSQL server per test run. With DATABASE_URL set (CI starts a real server and sets
 * it), that server is used; otherwise a throw-away embedded cluster is started under
 * `.nimbus/test-pg`. Each test file then creates its own database on it (test/support/pg.ts).
 */
export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startEmbeddedPostgres({
      dataDir: join(process.cwd(), '.nimbus', 'test-pg'),
      port: Number(process.env.NIMBUS_TEST_PG_PORT ?? 54330),
      unsafeFast: true,
      log: (m) => console.log(`[test] ${m}`),
    });
    adminUrl = server.adminUrl;
  }
  project.provide('pgAdminUrl', adminUrl);
  const swept = await removeDeadTestOwners();
  if (swept.length > 0) {
    console.log(`[test] removed what ${swept.length} killed test run(s) left in OVN`);
  }
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
