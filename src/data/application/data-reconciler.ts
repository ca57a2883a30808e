import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';

import { CommandExecutor } from '../../eventstore/command-executor';
import type { Position } from '../../kernel/position';
import { systemContext } from '../../platform/commands/system-context';
import { Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/tokens';
import { SECRET_STORE, type SecretStore } from '../../secrets/ports/secret-store';
import {
  DATABASE_MASTER_USER,
  cacheDecider,
  databaseDecider,
  sqlDatabaseNameOf,
  type CacheCommand,
  type DatabaseCommand,
  type DatabaseState,
} from '../domain';
import { cacheSecretName, databaseSecretName } from '../ports/credentials';
import {
  CACHE_ENGINE,
  DATABASE_ENGINE,
  type CacheEngine,
  type DatabaseEngine,
} from '../ports/engines';
import { DatabaseLocks } from './databases';

const ACTOR = 'data-reconciler';

/** What one reconcile of a resource did (logs, tests). */
export type DataDrift = 'none' | 'restarted' | 'lost' | 'stopped' | 'removed-leftover' | 'skipped';

export interface DataReconcileSummary {
  caches: Record<string, DataDrift>;
  databases: Record<string, DataDrift>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns the engine containers' reality into events, for the databases and caches the log says
 * are RUNNING or STOPPED (CREATING and DELETING belong to their sagas, which resume after a
 * restart and finish or compensate on their own):
 *
 *   RUNNING, container exited   started again, readiness checked (owner login, AUTH+PING), then
 *                               `...EngineRestarted`; an engine that does not come back is lost
 *   RUNNING/STOPPED, container  `...EngineLost`: FAILED with the reason. Not re-created: a
 *     removed                   removal behind Nimbus's back is an operator's act (or a lost
 *                               host), and a silent re-create would fight it; the cache's data
 *                               went with it anyway, and FAILED shows the database's owner what
 *                               happened (its volume stays until the delete)
 *   STOPPED, container running  stopped again: the log wins, nothing recorded
 *   deleted, container left     removed (a crash between a teardown's steps)
 *
 * Only containers of this installation (label `nimbus.installation`) are listed or touched.
 * A database is reconciled under the same lock as its stop, start, rotate and modify requests,
 * so it never sees one of them half done.
 */
@Injectable()
export class DataReconciler {
  private readonly logger = new Logger('data');

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CACHE_ENGINE) private readonly caches: CacheEngine,
    @Inject(DATABASE_ENGINE) private readonly databases: DatabaseEngine,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly locks: DatabaseLocks,
    private readonly clock: Clock,
  ) {}

  async reconcileAll(): Promise<DataReconcileSummary> {
    const summary: DataReconcileSummary = { caches: {}, databases: {} };
    const cacheIds = new Set([
      ...(await this.liveIds('data_caches')),
      ...(await this.caches.list()).map((c) => c.cacheId).filter((id) => id !== ''),
    ]);
    for (const id of cacheIds) {
      try {
        summary.caches[id] = await this.reconcileCache(id);
      } catch (error) {
        this.logger.warn(`reconcile of cache ${id} failed: ${message(error)}`);
      }
    }
    const databaseIds = new Set([
      ...(await this.liveIds('data_databases')),
      ...(await this.databases.list()),
    ]);
    for (const id of databaseIds) {
      try {
        summary.databases[id] = await this.reconcileDatabase(id);
      } catch (error) {
        this.logger.warn(`reconcile of database ${id} failed: ${message(error)}`);
      }
    }
    return summary;
  }

  private async liveIds(table: 'data_caches' | 'data_databases'): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${table} WHERE status IN ('RUNNING', 'STOPPED')`,
    );
    return rows.map((r) => r.id);
  }

  async reconcileCache(cacheId: string): Promise<DataDrift> {
    const { state, exists } = await this.executor.load(cacheDecider, cacheId);
    if (!exists) return 'skipped';
    if (state.status === 'deleted') {
      if (!(await this.caches.describe(cacheId))) return 'none';
      await this.caches.remove(cacheId);
      this.logger.log(`drift: removed the container left by deleted cache ${cacheId}`);
      return 'removed-leftover';
    }
    if (state.status !== 'RUNNING' && state.status !== 'STOPPED') return 'skipped';
    const tenantId = state.tenantId as string;
    const runtime = await this.caches.describe(cacheId);
    if (!runtime) {
      await this.recordCache(cacheId, tenantId, {
        type: 'RecordCacheEngineLost',
        reason: 'the cache container was removed outside Nimbus',
        now: this.clock.now(),
      });
      return 'lost';
    }
    if (state.status === 'STOPPED') {
      if (!runtime.running) return 'none';
      await this.caches.stop(cacheId);
      this.logger.log(`drift: stopped the running container of STOPPED cache ${cacheId}`);
      return 'stopped';
    }
    if (runtime.running) return 'none';
    try {
      await this.caches.start(cacheId);
      const password = await this.secrets.reveal(tenantId, cacheSecretName(cacheId));
      if (password === null) throw new Error('the cache password is missing');
      await this.caches.waitReady(runtime.endpoint, password, AbortSignal.timeout(60_000));
    } catch (error) {
      await this.recordCache(cacheId, tenantId, {
        type: 'RecordCacheEngineLost',
        reason: `the cache container had exited and did not start again: ${message(error)}`,
        now: this.clock.now(),
      });
      return 'lost';
    }
    await this.recordCache(cacheId, tenantId, {
      type: 'RecordCacheEngineRestarted',
      reason: 'the cache container had exited; started again (its data is gone)',
      now: this.clock.now(),
    });
    return 'restarted';
  }

  reconcileDatabase(databaseId: string): Promise<DataDrift> {
    return this.locks.run(databaseId, async () => {
      const { state, exists } = await this.executor.load(databaseDecider, databaseId);
      if (!exists) return 'skipped';
      if (state.status === 'deleted') {
        if (!(await this.databases.describe(databaseId))) return 'none';
        await this.databases.remove(databaseId);
        this.logger.log(`drift: removed the containers left by deleted database ${databaseId}`);
        return 'removed-leftover';
      }
      if (state.status !== 'RUNNING' && state.status !== 'STOPPED') return 'skipped';
      const runtime = await this.databases.describe(databaseId);
      const pooling = state.settings.poolingEnabled;
      if (!runtime) {
        await this.recordDatabase(state, {
          type: 'RecordDatabaseEngineLost',
          reason: 'the database server container was removed outside Nimbus',
          now: this.clock.now(),
        });
        return 'lost';
      }
      if (state.status === 'STOPPED') {
        if (!runtime.running && !runtime.poolerRunning) return 'none';
        await this.databases.stop(databaseId);
        this.logger.log(`drift: stopped the running containers of STOPPED database ${databaseId}`);
        return 'stopped';
      }
      const poolerDown = pooling && (runtime.poolerPort === null || !runtime.poolerRunning);
      if (runtime.running && !poolerDown) return 'none';
      const what = !runtime.running
        ? 'the server container had exited'
        : runtime.poolerPort === null
          ? 'the pgbouncer container was removed'
          : 'the pgbouncer container had exited';
      let poolerPort = runtime.poolerPort;
      let metricsPort = runtime.exporterPort;
      try {
        const password = await this.secrets.reveal(
          state.tenantId as string,
          databaseSecretName(databaseId),
        );
        if (password === null) throw new Error('the database password is missing');
        // Starts the server and an existing pgbouncer; a removed pgbouncer is made again.
        await this.databases.start(databaseId);
        await this.databases.waitReady(
          runtime.server,
          {
            user: DATABASE_MASTER_USER,
            password,
            dbName: sqlDatabaseNameOf(state.name as string),
          },
          AbortSignal.timeout(120_000),
        );
        if (pooling && runtime.poolerPort === null) {
          poolerPort = await this.databases.ensurePooler({
            databaseId,
            tenantId: state.tenantId as string,
            version: state.version as string,
            user: DATABASE_MASTER_USER,
            password,
          });
        }
        if (state.settings.metricsEnabled && runtime.exporterPort === null) {
          metricsPort = await this.databases.ensureExporter({
            databaseId,
            tenantId: state.tenantId as string,
            version: state.version as string,
            user: DATABASE_MASTER_USER,
          });
        }
      } catch (error) {
        await this.recordDatabase(state, {
          type: 'RecordDatabaseEngineLost',
          reason: `${what} and the database did not start again: ${message(error)}`,
          now: this.clock.now(),
        });
        return 'lost';
      }
      await this.recordDatabase(state, {
        type: 'RecordDatabaseEngineRestarted',
        reason: `${what}; started again`,
        endpoint: {
          host: runtime.server.host,
          port: runtime.server.port,
          poolerPort: pooling ? poolerPort : null,
          metricsPort: state.settings.metricsEnabled ? metricsPort : null,
        },
        now: this.clock.now(),
      });
      return 'restarted';
    });
  }

  private async recordCache(
    cacheId: string,
    tenantId: string,
    command: CacheCommand,
  ): Promise<Position | null> {
    const result = await this.executor.execute(
      cacheDecider,
      cacheId,
      command,
      systemContext(ACTOR, { tenantId, now: this.clock.now() }),
    );
    if (result.events.length > 0) {
      this.logger.log(`drift: cache ${cacheId}: ${result.events.map((e) => e.type).join(', ')}`);
    }
    return result.position;
  }

  private async recordDatabase(
    state: DatabaseState,
    command: DatabaseCommand,
  ): Promise<Position | null> {
    const databaseId = state.databaseId as string;
    const result = await this.executor.execute(
      databaseDecider,
      databaseId,
      command,
      systemContext(ACTOR, { tenantId: state.tenantId, now: this.clock.now() }),
    );
    if (result.events.length > 0) {
      this.logger.log(
        `drift: database ${databaseId}: ${result.events.map((e) => e.type).join(', ')}`,
      );
    }
    return result.position;
  }
}
