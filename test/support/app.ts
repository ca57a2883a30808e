import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, Response as InjectResponse } from 'light-my-request';
import supertest from 'supertest';
import type { AppExtras } from '../../src/app.module';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { createApp } from '../../src/create-app';
import { createRootLogger } from '../../src/platform/logging';
import { ovnReachable, removeOvnOwner, testOvnOwner } from './ovn-owner';
import { createTestDatabase, type TestDatabase } from './pg';

export interface TestAppOptions extends AppExtras {
  /** Overrides of the configuration (the database and port are set by the harness). */
  config?: Partial<AppConfig>;
  /** A database to run on; by default a fresh one is created and dropped on close(). */
  database?: TestDatabase;
  /** Label of the created database (helps reading pg_stat_activity). */
  label?: string;
  /** Listen on a loopback port (default true); false serves only inject(). */
  listen?: boolean;
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  database: TestDatabase;
  /** http://127.0.0.1:<port> when listening. */
  baseUrl: string;
  /** Fastify's in-process inject: no socket, same pipeline. */
  inject(options: InjectOptions | string): Promise<InjectResponse>;
  /** A supertest agent on the running server. */
  http(): ReturnType<typeof supertest>;
  close(): Promise<void>;
}

/**
 * The whole application on its own fresh database, for e2e tests:
 *
 *   const t = await startTestApp({ controllers: [MyTestController] });
 *   await t.http().post('/things').send({...}).expect(201);
 *   await t.close();
 *
 * Logs are silent unless NIMBUS_TEST_LOG_LEVEL is set; under CI=true errors are logged (a 500's
 * stack is then in the CI output).
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase(options.label ?? 'app'));
  const base = loadConfig({
    LOG_LEVEL:
      process.env.NIMBUS_TEST_LOG_LEVEL ?? (process.env.CI === 'true' ? 'error' : 'silent'),
    NIMBUS_DOCKER: process.env.NIMBUS_DOCKER,
    NIMBUS_OVS: process.env.NIMBUS_OVS,
    NIMBUS_OVN: process.env.NIMBUS_OVN,
    NIMBUS_EIP_POOL: process.env.NIMBUS_EIP_POOL,
    EVENTSTORE_URL: process.env.NIMBUS_TEST_EVENTSTORE_URL,
  });
  const config: AppConfig = {
    ...base,
    dataDir: mkdtempSync(join(tmpdir(), 'nimbus-test-')),
    ovnOwner: testOvnOwner(database.name),
    ...options.config,
    databaseUrl: database.url,
    host: '127.0.0.1',
    port: 0,
  };
  let app: NestFastifyApplication;
  try {
    app = await createApp(config, {
      logger: createRootLogger(config.logLevel),
      imports: options.imports,
      controllers: options.controllers,
      providers: options.providers,
    });
  } catch (err) {
    if (ownDatabase) await database.drop().catch(() => undefined);
    throw err;
  }
  let baseUrl = '';
  if (options.listen !== false) {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (address && typeof address === 'object') baseUrl = `http://127.0.0.1:${address.port}`;
  }
  let closed = false;
  return {
    app,
    config,
    database,
    baseUrl,
    inject: (opts) => app.inject(opts as InjectOptions),
    http: () => supertest(app.getHttpServer()),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
      if (ownDatabase) {
        // The database goes, so does the network it described.
        if (config.ovn !== 'simulated' && ovnReachable()) {
          await removeOvnOwner(config.ovnOwner).catch((error: unknown) => {
            console.warn(`[test] could not remove the OVN objects of ${config.ovnOwner}:`, error);
          });
        }
        await database.drop();
      }
      if (!options.config?.dataDir) rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
