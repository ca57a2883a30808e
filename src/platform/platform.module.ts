import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Pool } from 'pg';
import type { Logger as PinoLogger } from 'pino';
import { DataSource } from 'typeorm';
import { redact, type AppConfig } from '../config/config';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import { EventStoreDbEventStore } from '../eventstore/eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from '../eventstore/postgres/postgres-event-store';
import { UpcasterRegistry } from '../eventstore/upcasting';
import {
  ReadinessCheckProvider,
  type ReadinessCheck,
  type ReadinessResult,
} from '../health/readiness';
import { driverOnPool } from '../database/shared-pool';
import { Clock } from './clock';
import { openDatabase, type DatabaseInfo } from './database';
import { ErrorEnvelopeFilter } from './http/error-filter';
import { MediaTypeInterceptor } from './http/media-type.interceptor';
import { createValidationPipe } from './http/validation';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyStore } from './idempotency/idempotency.store';
import { APP_CONFIG, DATABASE_INFO, PG_POOL, ROOT_LOGGER } from './tokens';

const logger = new Logger('platform');

@Injectable()
@ReadinessCheckProvider()
export class DatabaseReadiness implements ReadinessCheck {
  readonly name = 'database';
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(DATABASE_INFO) private readonly db: DatabaseInfo,
  ) {}

  async check(): Promise<ReadinessResult> {
    try {
      await this.pool.query('SELECT 1');
      return { status: 'CONNECTED', ok: true, detail: this.db.description };
    } catch (err) {
      return { status: 'DISCONNECTED', ok: false, detail: (err as Error).message };
    }
  }
}

@Injectable()
@ReadinessCheckProvider()
export class EventStoreReadiness implements ReadinessCheck {
  readonly name = 'eventstore';
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async check(): Promise<ReadinessResult> {
    try {
      await this.store.ping();
      return { status: 'CONNECTED', ok: true, detail: this.store.kind };
    } catch (err) {
      return { status: 'DISCONNECTED', ok: false, detail: (err as Error).message };
    }
  }
}

/** Forgets expired Idempotency-Keys every hour (they are also ignored when met). */
@Injectable()
export class IdempotencySweeper implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly store: IdempotencyStore) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.store.deleteExpired().catch((err: unknown) => {
        logger.warn(`deleting expired idempotency keys failed: ${(err as Error).message}`);
      });
    }, 3_600_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

/** Closes what the platform opened, after every other module has stopped using it. */
@Injectable()
export class PlatformShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(DATABASE_INFO) private readonly db: DatabaseInfo,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        logger.warn(`closing ${what} failed: ${(err as Error).message}`);
      }
    };
    await step('the event store', () => this.store.close());
    await step('the read-model data source', async () => {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    });
    await step('the database pool', () => this.pool.end());
    if (this.db.embedded) {
      await step('the embedded PostgreSQL', () => this.db.stop());
      logger.log('embedded PostgreSQL stopped');
    }
  }
}

async function createEventStore(
  config: AppConfig,
  db: DatabaseInfo,
  pool: Pool,
  upcasters: UpcasterRegistry,
): Promise<EventStore> {
  const store: EventStore = config.eventStoreUrl
    ? new EventStoreDbEventStore({ connectionString: config.eventStoreUrl, upcasters })
    : new PostgresEventStore({ connectionString: db.url, pool, upcasters });
  await store.init();
  logger.log(
    config.eventStoreUrl
      ? `event store: EventStoreDB at ${redact(config.eventStoreUrl)}`
      : 'event store: PostgreSQL (table events)',
  );
  return store;
}

/**
 * Everything every other module may inject: the configuration, the database (pg Pool and the
 * TypeORM DataSource of the read models), the event store, the command executor, the clock, and the HTTP
 * conventions (error envelope, validation, Idempotency-Key) applied to every route.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig, rootLogger: PinoLogger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [DATABASE_INFO, PG_POOL],
          // The read models' DataSource queries through the application's one pool.
          useFactory: (db: DatabaseInfo, pool: Pool) => ({
            type: 'postgres' as const,
            url: db.url,
            driver: driverOnPool(pool),
            entities: [],
            synchronize: false,
            retryAttempts: 1,
            retryDelay: 500,
          }),
        }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ROOT_LOGGER, useValue: rootLogger },
        {
          provide: DATABASE_INFO,
          useFactory: async (): Promise<DatabaseInfo> => {
            const db = await openDatabase(config, (m) => logger.log(m));
            logger.log(`database: ${db.description}`);
            return db;
          },
        },
        {
          provide: PG_POOL,
          inject: [DATABASE_INFO],
          useFactory: async (db: DatabaseInfo): Promise<Pool> => {
            // The one pool of the process: requests, the event store, the read models' DataSource
            // and the projections' batch commits all take their connections here.
            const pool = new Pool({
              connectionString: db.url,
              max: config.pgPoolSize,
              application_name: 'nimbus',
            });
            pool.on('error', (err) =>
              logger.warn(`idle database connection failed: ${err.message}`),
            );
            await pool.query('SELECT 1');
            return pool;
          },
        },
        UpcasterRegistry,
        {
          provide: EVENT_STORE,
          inject: [DATABASE_INFO, PG_POOL, UpcasterRegistry],
          useFactory: (db: DatabaseInfo, pool: Pool, upcasters: UpcasterRegistry) =>
            createEventStore(config, db, pool, upcasters),
        },
        {
          provide: CommandExecutor,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) => new CommandExecutor(store),
        },
        {
          provide: IdempotencyStore,
          inject: [PG_POOL],
          useFactory: async (pool: Pool) => {
            const store = new IdempotencyStore(
              pool,
              config.idempotencyTtlHours,
              config.idempotencyAbandonSeconds,
            );
            await store.init();
            await store.deleteExpired();
            return store;
          },
        },
        Clock,
        IdempotencySweeper,
        DatabaseReadiness,
        EventStoreReadiness,
        PlatformShutdown,
        { provide: APP_FILTER, useClass: ErrorEnvelopeFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_INTERCEPTOR, useClass: MediaTypeInterceptor },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
      exports: [
        APP_CONFIG,
        ROOT_LOGGER,
        DATABASE_INFO,
        PG_POOL,
        UpcasterRegistry,
        EVENT_STORE,
        CommandExecutor,
        IdempotencyStore,
        Clock,
      ],
    };
  }
}
