import { join } from 'node:path';
import { Module } from '@nestjs/common';
import type Dockerode from 'dockerode';

import {
  databaseDeleteSaga,
  databaseProvisionSaga,
  type DatabaseSagaPorts,
} from '../../sagas/database-provision/database-provision.saga';
import { databaseReplicaSaga } from '../../sagas/database-provision/database-replica.saga';
import { databaseSnapshotSaga } from '../../sagas/database-provision/database-snapshot.saga';
import {
  cacheDeleteSaga,
  cacheProvisionSaga,
  type CacheSagaPorts,
} from '../../sagas/cache-provision/cache-provision.saga';
import { provideSaga } from '../../sagas/runtime/sagas.module';
import type { AppConfig } from '../config/config';
import type { DetectedDrivers } from '../drivers/detection';
import { EngineContainers } from '../drivers/engines/engine-containers';
import { EngineImages, type EngineImageSource } from '../drivers/engines/engine-images';
import { PostgresEngine } from '../drivers/engines/postgres-engine';
import { RedisEngine } from '../drivers/engines/redis-engine';
import { installationIdOf } from '../drivers/installation-id';
import { DETECTED_DRIVERS, DOCKER_CLIENT } from '../drivers/tokens';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import type { CommandContext } from '../kernel/command-context';
import { provideQuotas, QuotaService } from '../platform/quotas/quota.service';
import { APP_CONFIG } from '../platform/tokens';
import { SecretsModule } from '../secrets/secrets.module';
import { SECRET_STORE, type SecretStore } from '../secrets/ports/secret-store';
import { CacheAccess } from './application/cache-access';
import { CACHE_USE_CASES } from './application/caches';
import { DataLifecycle } from './application/data-lifecycle';
import { DataQueries } from './application/data-queries';
import { DataReconciler } from './application/data-reconciler';
import { DATA_QUOTAS } from './application/data-quotas';
import { CachesController } from './http/caches.controller';
import { DatabaseSnapshotsController } from './http/database-snapshots.controller';
import { DatabasesController } from './http/databases.controller';
import { DATABASE_USE_CASES, DatabaseAccess, DatabaseLocks } from './application/databases';
import { DATABASE_SNAPSHOT_USE_CASES } from './application/database-snapshots';
import {
  CACHE_ENGINE,
  DATABASE_ENGINE,
  DATABASE_SNAPSHOT_DIR,
  type CacheEngine,
  type DatabaseEngine,
} from './ports/engines';

const ENGINE_CONTAINERS = Symbol('ENGINE_CONTAINERS');
const ENGINE_IMAGES = Symbol('ENGINE_IMAGES');

const CACHE_SAGA_PORTS = Symbol('CACHE_SAGA_PORTS');
const DATABASE_ENGINE_SAGA_PORTS = Symbol('DATABASE_ENGINE_SAGA_PORTS');
const DATABASE_SAGA_PORTS = Symbol('DATABASE_SAGA_PORTS');

/** What an engine's provision and delete sagas share: one set of ports per engine kind. */
function engineSagaPorts<TEngine>(engineToken: symbol) {
  return {
    inject: [CommandExecutor, EVENT_STORE, engineToken, SECRET_STORE, QuotaService, ENGINE_IMAGES],
    useFactory: (
      executor: CommandExecutor,
      store: EventStore,
      engine: TEngine,
      secrets: SecretStore,
      quotas: QuotaService,
      images: EngineImageSource,
    ) => ({
      executor,
      store,
      engine,
      secrets,
      images,
      releaseQuota: (tenantId: string, holderId: string, ctx: CommandContext) =>
        quotas.release(tenantId, holderId, ctx),
    }),
  };
}

/**
 * Managed caches (and databases) on real engines: Redis and PostgreSQL containers on Docker,
 * their credentials in the secrets store. Needs the real Docker driver; with the simulated one
 * every provisioning fails (FAILED, naming why) rather than pretending.
 */
@Module({
  imports: [SecretsModule],
  controllers: [CachesController, DatabasesController, DatabaseSnapshotsController],
  providers: [
    {
      provide: ENGINE_CONTAINERS,
      inject: [DOCKER_CLIENT, APP_CONFIG],
      useFactory: (docker: Dockerode, config: AppConfig) =>
        new EngineContainers(docker, installationIdOf(config.dataDir)),
    },
    {
      provide: CACHE_ENGINE,
      inject: [ENGINE_CONTAINERS],
      useFactory: (containers: EngineContainers): CacheEngine => new RedisEngine(containers),
    },
    {
      provide: ENGINE_IMAGES,
      inject: [DETECTED_DRIVERS, ENGINE_CONTAINERS],
      useFactory: (drivers: DetectedDrivers, containers: EngineContainers): EngineImageSource =>
        drivers.docker.active === 'docker'
          ? new EngineImages((reference) => containers.imagePresent(reference))
          : {
              ensure: () =>
                Promise.reject(
                  new Error('managed engines need the real Docker driver (NIMBUS_DOCKER)'),
                ),
            },
    },
    {
      provide: DATABASE_ENGINE,
      inject: [ENGINE_CONTAINERS],
      useFactory: (containers: EngineContainers): DatabaseEngine => new PostgresEngine(containers),
    },
    DataQueries,
    CacheAccess,
    DatabaseAccess,
    DatabaseLocks,
    DataReconciler,
    DataLifecycle,
    ...DATABASE_USE_CASES,
    ...DATABASE_SNAPSHOT_USE_CASES,
    provideQuotas('data', DATA_QUOTAS),
    ...CACHE_USE_CASES,
    { provide: CACHE_SAGA_PORTS, ...engineSagaPorts<CacheEngine>(CACHE_ENGINE) },
    {
      provide: DATABASE_SNAPSHOT_DIR,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => join(config.dataDir, 'database-snapshots'),
    },
    {
      provide: DATABASE_SAGA_PORTS,
      inject: [DATABASE_ENGINE_SAGA_PORTS, DATABASE_SNAPSHOT_DIR],
      useFactory: (
        ports: Omit<DatabaseSagaPorts, 'snapshotDir'>,
        snapshotDir: string,
      ): DatabaseSagaPorts => ({ ...ports, snapshotDir }),
    },
    { provide: DATABASE_ENGINE_SAGA_PORTS, ...engineSagaPorts<DatabaseEngine>(DATABASE_ENGINE) },
    provideSaga({
      inject: [CACHE_SAGA_PORTS],
      useFactory: (ports: CacheSagaPorts) => cacheProvisionSaga(ports),
    }),
    provideSaga({
      inject: [CACHE_SAGA_PORTS],
      useFactory: (ports: CacheSagaPorts) => cacheDeleteSaga(ports),
    }),
    provideSaga({
      inject: [DATABASE_SAGA_PORTS],
      useFactory: (ports: DatabaseSagaPorts) => databaseProvisionSaga(ports),
    }),
    provideSaga({
      inject: [DATABASE_SAGA_PORTS],
      useFactory: (ports: DatabaseSagaPorts) => databaseDeleteSaga(ports),
    }),
    provideSaga({
      inject: [DATABASE_SAGA_PORTS],
      useFactory: (ports: DatabaseSagaPorts) => databaseReplicaSaga(ports),
    }),
    provideSaga({
      inject: [DATABASE_SAGA_PORTS],
      useFactory: (ports: DatabaseSagaPorts) => databaseSnapshotSaga(ports),
    }),
  ],
  exports: [DataReconciler],
})
export class DataModule {}
