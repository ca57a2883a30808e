import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { redact } from '../config/config';
import {
  ensureDatabase,
  startEmbeddedPostgres,
  type PostgresServer,
} from '../database/postgres-server';

export interface DatabaseInfo {
  /** Connection string of the Nimbus database. */
  url: string;
  /** True when Nimbus runs its own embedded PostgreSQL under NIMBUS_DATA_DIR/pg. */
  embedded: boolean;
  /** For logs and readiness: never contains a password. */
  description: string;
  /** Stops the embedded server when this process started it; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * Resolves the database: DATABASE_URL when set, else an embedded PostgreSQL kept under
 * `<dataDir>/pg` (started once, reused by the next start) with a `nimbus` database in it.
 */
export async function openDatabase(
  config: AppConfig,
  log: (message: string) => void,
): Promise<DatabaseInfo> {
  if (config.databaseUrl) {
    return {
      url: config.databaseUrl,
      embedded: false,
      description: `external PostgreSQL ${redact(config.databaseUrl)}`,
      stop: async () => undefined,
    };
  }
  const dataDir = join(config.dataDir, 'pg');
  const server: PostgresServer = await startEmbeddedPostgres({
    dataDir,
    port: config.embeddedPgPort,
    log,
  });
  try {
    const url = await ensureDatabase(server.adminUrl, config.embeddedPgDatabase);
    return {
      url,
      embedded: true,
      description: `embedded PostgreSQL on 127.0.0.1:${server.port} (data in ${dataDir})`,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
