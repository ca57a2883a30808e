import { randomUUID } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SagaRuntime } from '../../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME, SagaLauncher, SagasModule } from '../../../sagas/runtime/sagas.module';
import { EVENT_STORE } from '../../../src/eventstore/event-store';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { Clock } from '../../../src/platform/clock';
import { PG_POOL } from '../../../src/platform/tokens';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { EFFECTS_SCHEMA, effectsOf, effectsSaga } from './fixtures/effects-saga';

describe('SagasModule', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('sagas_module');
    store = new PostgresEventStore({ connectionString: db.url });
    await store.init();
    pool = new Pool({ connectionString: db.url, max: 5 });
    await pool.query(EFFECTS_SCHEMA);
  });

  afterAll(async () => {
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  it('starts the runtime on bootstrap, starts sagas from a command, stops on close', async () => {
    const saga = effectsSaga(pool);
    @Global()
    @Module({
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: PG_POOL, useValue: pool },
        Clock,
      ],
      exports: [EVENT_STORE, PG_POOL, Clock],
    })
    class FakePlatformModule {}
    @Module({
      imports: [FakePlatformModule, SagasModule.forRoot({ poolToken: PG_POOL, sagas: [saga] })],
    })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const launcher = app.get(SagaLauncher);
      const runtime = app.get<SagaRuntime>(SAGA_RUNTIME);
      const id = randomUUID();
      expect((await launcher.start(saga, id, {}, { tenantId: 'tenant-1' })).started).toBe(true);
      const state = await runtime.whenSettled('effects', id);
      expect(state).toMatchObject({ status: 'completed', tenantId: 'tenant-1' });
      expect(await effectsOf(pool, id)).toEqual(['charge', 'reserve', 'ship']);
    } finally {
      await app.close();
    }
  });

  it('boots with the sagas the contexts register (provideSaga), none here', async () => {
    @Global()
    @Module({
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: PG_POOL, useValue: pool },
        Clock,
      ],
      exports: [EVENT_STORE, PG_POOL, Clock],
    })
    class FakePlatformModule {}
    @Module({
      imports: [FakePlatformModule, SagasModule.forRoot()],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    expect(app.get<SagaRuntime>(SAGA_RUNTIME).sagaNames).toEqual([]);
    await app.close();
  });
});
