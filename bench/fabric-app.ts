/**
 * The app the network and cluster benches drive: real Docker and OVN (Open vSwitch simulated:
 * the host ports are OVN's), a fresh database and data directory, silent logs and rate limits
 * no bench reaches. `dispose` drops the database and the directory; the bench closes the app
 * itself first, since what it made must go through the API before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig, type AppConfig } from '../src/config/config';
import { createApp } from '../src/create-app';
import { createRootLogger } from '../src/platform/logging';
import { freshDatabase } from './support';

export interface FabricApp {
  app: Awaited<ReturnType<typeof createApp>>;
  dispose(): Promise<void>;
}

export async function startFabricApp(
  label: string,
  env: Record<string, string>,
): Promise<FabricApp> {
  const db = await freshDatabase(label);
  const dataDir = mkdtempSync(join(tmpdir(), `nimbus-bench-${label}-`));
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_DOCKER: 'docker',
    NIMBUS_OVS: 'simulated',
    NIMBUS_OVN: 'ovn',
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
    ...env,
  });
  const config: AppConfig = { ...base, dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0 };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  return {
    app,
    async dispose() {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
