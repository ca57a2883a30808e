import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { QuotasModule } from '../../../src/platform/quotas/quotas.module';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminModule } from '../../../src/admin/admin.module';
import { EVENT_STORE } from '../../../src/eventstore/event-store';
import type { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { ProjectionsModule } from '../../../projections/runtime/projections.module';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { appendTicks, newControl, openDataSource, openStore, tickProjection } from './fixtures';

describe('ProjectionsModule and GET /admin/projections', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dataSource: DataSource;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    db = await createTestDatabase('proj_module');
    store = await openStore(db.url);
    dataSource = await openDataSource(db.url);

    // Stands in for PlatformModule: EVENT_STORE and the read-model DataSource.
    @Global()
    @Module({
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: DataSource, useValue: dataSource },
        { provide: CommandExecutor, useValue: new CommandExecutor(store) },
      ],
      exports: [EVENT_STORE, DataSource, CommandExecutor],
    })
    class FakePlatformModule {}

    @Module({
      imports: [
        FakePlatformModule,
        ProjectionsModule.forRoot({
          projections: [tickProjection(newControl())],
          readYourWritesTimeoutMs: 10_000,
        }),
        CqrsModule.forRoot(),
        QuotasModule,
        AdminModule,
      ],
    })
    class TestAppModule {}

    app = await NestFactory.create<NestFastifyApplication>(TestAppModule, new FastifyAdapter(), {
      logger: false,
      abortOnError: false,
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await store?.close();
    await db?.drop();
  });

  it('starts the runners on bootstrap; the waiter and the admin route see them', async () => {
    const runtime = app.get(ProjectionRuntime);
    expect(runtime.isStarted).toBe(true);
    const last = await appendTicks(store, 12);
    const waiter = app.get(ProjectionWaiter);
    expect(await waiter.reached([{ position: last, projections: ['test.ticks'] }])).toBe(true);

    const res = await app.getHttpAdapter().getInstance().inject({
      method: 'GET',
      url: '/admin/projections',
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual([
      {
        name: 'test.ticks',
        version: 1,
        stored_version: 1,
        position: expect.stringMatching(/^\d+-\d+$/),
        events_processed: 13,
        head: expect.stringMatching(/^\d+-\d+$/),
        lag: { events: 0, exact: true },
        status: 'running',
        last_error: null,
        last_error_at: null,
        updated_at: expect.any(String),
      },
    ]);
    expect(body[0].position).toBe(body[0].head);
  });

  it('stops the runners when the application closes', async () => {
    const runtime = app.get(ProjectionRuntime);
    const runner = runtime.runner('test.ticks')!;
    await app.close();
    expect(runner.state).toBe('stopped');
    expect(runtime.isStarted).toBe(false);
  });
});
