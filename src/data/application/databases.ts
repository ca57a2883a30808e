import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { DATABASE_SNAPSHOTS_PROJECTION, DATABASES_PROJECTION } from '../../../projections/data';
import {
  DATABASE_DELETE_SAGA,
  databaseDeleteSagaId,
  DATABASE_PROVISION_SAGA,
  type DatabaseSagaInput,
} from '../../../sagas/database-provision/database-provision.saga';
import { DATABASE_REPLICA_SAGA } from '../../../sagas/database-provision/database-replica.saga';
import { SagaLauncher } from '../../../sagas/runtime/sagas.module';
import { AppError } from '../../common/errors/app-error';
import { uuidV5 } from '../../common/ids';
import { KeyedMutex } from '../../common/keyed-mutex';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
  type Written,
} from '../../platform/commands/use-case';
import { derivedContext } from '../../platform/commands/system-context';
import { QuotaService } from '../../platform/quotas/quota.service';
import { SECRET_STORE, secretIdFor, type SecretStore } from '../../secrets/ports/secret-store';
import {
  DATABASE_MASTER_USER,
  databaseDecider,
  initialDatabaseState,
  snapshotDecider,
  sqlDatabaseOf,
  validateDatabaseRequest,
  validateName,
  validateParameters,
  type DatabaseCommand,
  type DatabaseEndpoint,
  type DatabaseSettings,
  type DatabaseState,
} from '../domain';
import {
  databaseSecretName,
  newEnginePassword,
  replicationSecretName,
  replicationSlotName,
} from '../ports/credentials';
import { DATABASE_ENGINE, type DatabaseEngine } from '../ports/engines';
import { DataQueries } from './data-queries';
import { DATABASE_QUOTA, DATABASE_REPLICA_QUOTA, DATABASE_STORAGE_QUOTA } from './data-quotas';

export interface DatabaseChanged {
  databaseId: string;
}

export interface CreateDatabaseInput {
  name: string;
  engine: string;
  version: string;
  settings: DatabaseSettings;
  /** A restore: the snapshot the new database starts from. */
  fromSnapshotId?: string;
}

export class CreateDatabase extends UseCaseCommand<DatabaseChanged> {
  constructor(
    readonly input: CreateDatabaseInput,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

export class ModifyDatabase extends UseCaseCommand<DatabaseChanged> {
  constructor(
    readonly databaseId: string,
    readonly change: {
      allocatedStorageGb?: number;
      poolingEnabled?: boolean;
      metricsEnabled?: boolean;
      parameters?: Record<string, unknown>;
    },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

export class CreateReplica extends UseCaseCommand<DatabaseChanged> {
  constructor(
    readonly primaryId: string,
    readonly name: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

export class PromoteDatabase extends UseCaseCommand<DatabaseChanged> {
  constructor(
    readonly databaseId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** A database's quota amounts: a replica also holds one `database_replicas`. */
function quotaAmountsOf(state: Pick<DatabaseState, 'role'>, storageGb: number) {
  return {
    [DATABASE_QUOTA]: 1,
    [DATABASE_STORAGE_QUOTA]: storageGb,
    ...(state.role === 'REPLICA' ? { [DATABASE_REPLICA_QUOTA]: 1 } : {}),
  };
}

export type DatabaseAction = 'stop' | 'start' | 'rotate';

export class ActOnDatabase extends UseCaseCommand<DatabaseChanged> {
  constructor(
    readonly databaseId: string,
    readonly action: DatabaseAction,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

export interface DatabaseDeleting {
  databaseId: string;
  /** The final snapshot the delete takes first; null when none was asked for. */
  finalSnapshotId: string | null;
}

export class DeleteDatabase extends UseCaseCommand<DatabaseDeleting> {
  constructor(
    readonly databaseId: string,
    ctx: CommandContext,
    /** Take a snapshot of this name before the engine goes. */
    readonly finalSnapshotName?: string,
  ) {
    super(ctx);
  }
}

export async function ownedDatabase(
  executor: CommandExecutor,
  tenantId: string,
  databaseId: string,
): Promise<DatabaseState> {
  const { state } = await executor.load(databaseDecider, databaseId);
  if (state.tenantId !== tenantId || state.status === 'none' || state.status === 'deleted') {
    throw AppError.notFound('database', databaseId);
  }
  return state;
}

/** One change at a time per database (stop, start, rotate, modify touch the same containers). */
@Injectable()
export class DatabaseLocks extends KeyedMutex {}

@CommandHandler(CreateDatabase)
export class CreateDatabaseHandler extends UseCaseHandler<CreateDatabase, DatabaseChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly quotas: QuotaService,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({ input, ctx }: CreateDatabase): Promise<Handled<DatabaseChanged>> {
    const tenantId = tenantOf(ctx);
    // Everything the decider checks, before the quota: a rejection appends nothing.
    validateName(input.name);
    validateDatabaseRequest({
      engine: input.engine,
      version: input.version,
      allocatedStorageGb: input.settings.allocatedStorageGb,
    });
    validateParameters(input.settings.parameters);
    const databaseId = uuidV5(`database/${ctx.commandId}`);
    const command: DatabaseCommand = {
      type: 'CreateDatabase',
      databaseId,
      tenantId,
      name: input.name,
      engine: input.engine,
      version: input.version,
      settings: input.settings,
      ...(input.fromSnapshotId
        ? { fromSnapshot: (await this.executor.load(snapshotDecider, input.fromSnapshotId)).state }
        : {}),
      now: ctx.now,
    };
    // A restore's snapshot is checked here too, before the quota (a rejection appends nothing).
    databaseDecider.decide(command, initialDatabaseState());
    await this.quotas.reserve(
      tenantId,
      { id: databaseId, kind: 'database' },
      { [DATABASE_QUOTA]: 1, [DATABASE_STORAGE_QUOTA]: input.settings.allocatedStorageGb },
      ctx,
    );
    let result;
    try {
      result = await this.executor.execute(databaseDecider, databaseId, command, ctx, {
        expectNew: true,
      });
    } catch (error) {
      await this.quotas.release(tenantId, databaseId, ctx).catch(() => undefined);
      throw error;
    }
    await this.sagas.start(
      DATABASE_PROVISION_SAGA,
      databaseId,
      { databaseId, tenantId } satisfies DatabaseSagaInput,
      {
        tenantId,
        correlationId: ctx.correlationId,
        requestId: ctx.requestId,
      },
    );
    return { result: { databaseId }, written: [written(result.position, DATABASES_PROJECTION)] };
  }
}

/** The engine side of changes to a RUNNING or STOPPED database, with its password. */
@Injectable()
export class DatabaseAccess {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(DATABASE_ENGINE) private readonly engine: DatabaseEngine,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
  ) {}

  async password(tenantId: string, databaseId: string): Promise<string> {
    const password = await this.secrets.reveal(tenantId, databaseSecretName(databaseId));
    if (password === null) {
      throw new AppError('internal_error', `the password of database ${databaseId} is missing`);
    }
    return password;
  }

  async waitReady(state: DatabaseState, port: number, password: string): Promise<void> {
    await this.engine.waitReady(
      { host: '127.0.0.1', port },
      { user: DATABASE_MASTER_USER, password, dbName: sqlDatabaseOf(state) },
    );
  }

  async connection(tenantId: string, databaseId: string) {
    const state = await ownedDatabase(this.executor, tenantId, databaseId);
    if (state.status !== 'RUNNING' || state.endpoint === null) {
      throw AppError.invalidState(`database ${databaseId} is ${state.status}; it must be RUNNING`, {
        resource: 'database',
        id: databaseId,
        status: state.status,
      });
    }
    const password = await this.password(tenantId, databaseId);
    const { host } = state.endpoint;
    const pooled = state.settings.poolingEnabled && state.endpoint.poolerPort !== null;
    const port = pooled ? (state.endpoint.poolerPort as number) : state.endpoint.port;
    const dbName = sqlDatabaseOf(state);
    return {
      connection_string: `postgresql://${DATABASE_MASTER_USER}:${encodeURIComponent(password)}@${host}:${port}/${dbName}?sslmode=disable`,
      host,
      port,
      database: dbName,
      username: DATABASE_MASTER_USER,
      password,
      pooled,
      direct_port: state.endpoint.port,
      secret_id: secretIdFor(tenantId, databaseSecretName(databaseId)),
    };
  }

  /** Role, primary and, for a RUNNING replica, its lag read live on the primary. */
  async replication(tenantId: string, databaseId: string) {
    const state = await ownedDatabase(this.executor, tenantId, databaseId);
    let lag = null;
    if (state.role === 'REPLICA' && state.primaryId !== null && state.status === 'RUNNING') {
      lag = await this.engine.replicationLag(
        state.primaryId,
        DATABASE_MASTER_USER,
        replicationSlotName(databaseId),
      );
    }
    return {
      id: databaseId,
      role: state.role,
      primary_id: state.primaryId ?? null,
      replication_state: lag?.state ?? null,
      replication_lag_bytes: lag?.bytes ?? null,
      replication_lag_seconds: lag?.seconds ?? null,
      measured_on: state.role === 'REPLICA' ? 'primary:pg_stat_replication' : null,
    };
  }

  get engineDriver(): DatabaseEngine {
    return this.engine;
  }

  get secretStore(): SecretStore {
    return this.secrets;
  }
}

@CommandHandler(ModifyDatabase)
export class ModifyDatabaseHandler extends UseCaseHandler<ModifyDatabase, DatabaseChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly access: DatabaseAccess,
    private readonly locks: DatabaseLocks,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected handle({ databaseId, change, ctx }: ModifyDatabase): Promise<Handled<DatabaseChanged>> {
    return this.locks.run(databaseId, async () => {
      const tenantId = tenantOf(ctx);
      const state = await ownedDatabase(this.executor, tenantId, databaseId);
      const command: DatabaseCommand = { type: 'ModifyDatabase', ...change, now: ctx.now };
      // Decided first without appending: a rejected change touches neither the quota nor the engine.
      const [event] = databaseDecider.decide(command, state);
      if (!event || event.type !== 'DatabaseModified') {
        return { result: { databaseId }, written: [] };
      }
      const next = event.data.settings;
      if (next.allocatedStorageGb !== state.settings.allocatedStorageGb) {
        await this.quotas.reserve(
          tenantId,
          { id: databaseId, kind: 'database' },
          quotaAmountsOf(state, next.allocatedStorageGb),
          ctx,
        );
      }
      const engine = this.access.engineDriver;
      const password = await this.access.password(tenantId, databaseId);
      const endpoint = state.endpoint as DatabaseEndpoint;
      const changed = Object.fromEntries(
        Object.entries(next.parameters).filter(([k, v]) => state.settings.parameters[k] !== v),
      );
      if (event.data.applyBy !== null) {
        await engine.applyParameters(
          databaseId,
          DATABASE_MASTER_USER,
          changed,
          event.data.applyBy === 'restart',
        );
        await this.access.waitReady(state, endpoint.port, password);
      }
      let poolerPort = endpoint.poolerPort;
      if (next.poolingEnabled && !state.settings.poolingEnabled) {
        poolerPort = await engine.ensurePooler({
          databaseId,
          tenantId,
          version: state.version as string,
          user: DATABASE_MASTER_USER,
          password,
        });
      } else if (!next.poolingEnabled && state.settings.poolingEnabled) {
        await engine.removePooler(databaseId);
        poolerPort = null;
      }
      let metricsPort = endpoint.metricsPort ?? null;
      if (next.metricsEnabled && !state.settings.metricsEnabled) {
        metricsPort = await engine.ensureExporter({
          databaseId,
          tenantId,
          version: state.version as string,
          user: DATABASE_MASTER_USER,
        });
      } else if (!next.metricsEnabled && state.settings.metricsEnabled) {
        await engine.removeExporter(databaseId);
        metricsPort = null;
      }
      const result = await this.executor.execute(
        databaseDecider,
        databaseId,
        { ...command, endpoint: { ...endpoint, poolerPort, metricsPort } },
        ctx,
      );
      return { result: { databaseId }, written: [written(result.position, DATABASES_PROJECTION)] };
    });
  }
}

@CommandHandler(ActOnDatabase)
export class ActOnDatabaseHandler extends UseCaseHandler<ActOnDatabase, DatabaseChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly access: DatabaseAccess,
    private readonly locks: DatabaseLocks,
    private readonly queries: DataQueries,
  ) {
    super();
  }

  protected handle({ databaseId, action, ctx }: ActOnDatabase): Promise<Handled<DatabaseChanged>> {
    return this.locks.run(databaseId, async () => {
      const tenantId = tenantOf(ctx);
      const state = await ownedDatabase(this.executor, tenantId, databaseId);
      const engine = this.access.engineDriver;
      const endpoint = state.endpoint as DatabaseEndpoint;
      let command: DatabaseCommand;
      if (action === 'stop') {
        command = { type: 'StopDatabase', now: ctx.now };
        if (databaseDecider.decide(command, state).length > 0) await engine.stop(databaseId);
      } else if (action === 'start') {
        command = { type: 'StartDatabase', endpoint, now: ctx.now };
        if (databaseDecider.decide(command, state).length > 0) {
          await engine.start(databaseId);
          await this.access.waitReady(
            state,
            endpoint.port,
            await this.access.password(tenantId, databaseId),
          );
        }
      } else {
        command = { type: 'RotateDatabaseCredentials', now: ctx.now };
        databaseDecider.decide(command, state);
        const password = newEnginePassword();
        await this.access.secretStore.put(
          {
            tenantId,
            name: databaseSecretName(databaseId),
            value: password,
            owner: { kind: 'database', id: databaseId },
            description: `password of database ${databaseId} (user ${DATABASE_MASTER_USER})`,
          },
          derivedContext(ctx, 'rotate_password'),
        );
        await engine.setPassword(databaseId, DATABASE_MASTER_USER, password);
        if (state.settings.poolingEnabled) {
          await engine.ensurePooler({
            databaseId,
            tenantId,
            version: state.version as string,
            user: DATABASE_MASTER_USER,
            password,
          });
        }
        // The new password reaches the replicas through the WAL; their connection strings read
        // it from their own secrets.
        for (const replicaId of await this.queries.replicaIdsOf(tenantId, databaseId)) {
          await this.access.secretStore.put(
            {
              tenantId,
              name: databaseSecretName(replicaId),
              value: password,
              owner: { kind: 'database', id: replicaId },
              description: `password of database ${replicaId} (user ${DATABASE_MASTER_USER}, its primary's)`,
            },
            derivedContext(ctx, `rotate_password:${replicaId}`),
          );
        }
      }
      const result = await this.executor.execute(databaseDecider, databaseId, command, ctx);
      return { result: { databaseId }, written: [written(result.position, DATABASES_PROJECTION)] };
    });
  }
}

/**
 * Delete: DELETING, then the delete saga. With a final snapshot its `DatabaseSnapshotStarted`
 * (marked final) is appended first and the delete saga takes it before removing anything; both
 * decisions are made before either append, so a refused delete leaves no snapshot behind.
 */
@CommandHandler(DeleteDatabase)
export class DeleteDatabaseHandler extends UseCaseHandler<DeleteDatabase, DatabaseDeleting> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sagas: SagaLauncher,
    private readonly queries: DataQueries,
  ) {
    super();
  }

  protected async handle({
    databaseId,
    finalSnapshotName,
    ctx,
  }: DeleteDatabase): Promise<Handled<DatabaseDeleting>> {
    const tenantId = tenantOf(ctx);
    // A bad name is the caller's first problem (400), before the database's state (409).
    if (finalSnapshotName !== undefined) validateName(finalSnapshotName);
    const state = await ownedDatabase(this.executor, tenantId, databaseId);
    const replicaIds =
      state.role === 'PRIMARY' ? await this.queries.replicaIdsOf(tenantId, databaseId) : [];
    const finalSnapshotId =
      finalSnapshotName === undefined ? null : uuidV5(`database-final-snapshot/${ctx.commandId}`);
    const command: DatabaseCommand = {
      type: 'DeleteDatabase',
      replicaIds,
      ...(finalSnapshotId ? { finalSnapshotId } : {}),
      now: ctx.now,
    };
    const deleting = databaseDecider.decide(command, state).length > 0;
    const writes: Written[] = [];
    if (finalSnapshotId !== null && deleting) {
      const snapshot = await this.executor.execute(
        snapshotDecider,
        finalSnapshotId,
        {
          type: 'CreateDatabaseSnapshot',
          snapshotId: finalSnapshotId,
          tenantId,
          name: finalSnapshotName as string,
          source: { databaseId, state, sqlDatabase: sqlDatabaseOf(state) },
          final: true,
          now: ctx.now,
        },
        derivedContext(ctx, 'final_snapshot'),
      );
      writes.push(written(snapshot.position, DATABASE_SNAPSHOTS_PROJECTION));
    }
    const result = await this.executor.execute(databaseDecider, databaseId, command, ctx);
    await this.sagas.start(
      DATABASE_DELETE_SAGA,
      // A delete asked again while one runs names the running one's saga.
      databaseDeleteSagaId(
        databaseId,
        deleting ? finalSnapshotId : (state.finalSnapshotId ?? null),
      ),
      { databaseId, tenantId } satisfies DatabaseSagaInput,
      {
        tenantId,
        correlationId: ctx.correlationId,
        requestId: ctx.requestId,
      },
    );
    writes.push(written(result.position, DATABASES_PROJECTION));
    return {
      result: { databaseId, finalSnapshotId: deleting ? finalSnapshotId : null },
      written: writes,
    };
  }
}

@CommandHandler(CreateReplica)
export class CreateReplicaHandler extends UseCaseHandler<CreateReplica, DatabaseChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly quotas: QuotaService,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({
    primaryId,
    name,
    ctx,
  }: CreateReplica): Promise<Handled<DatabaseChanged>> {
    const tenantId = tenantOf(ctx);
    const primary = await ownedDatabase(this.executor, tenantId, primaryId);
    const databaseId = uuidV5(`database/${ctx.commandId}`);
    const command: DatabaseCommand = {
      type: 'CreateReplica',
      databaseId,
      tenantId,
      name,
      primary: {
        databaseId: primaryId,
        tenantId: primary.tenantId,
        status: primary.status,
        role: primary.role,
        engine: primary.engine,
        version: primary.version,
        settings: primary.settings,
        sqlDatabase: sqlDatabaseOf(primary),
      },
      now: ctx.now,
    };
    // Decided on the empty stream first: a rejection touches neither the quota nor the log.
    databaseDecider.decide(command, databaseDecider.initialState());
    await this.quotas.reserve(
      tenantId,
      { id: databaseId, kind: 'database' },
      quotaAmountsOf({ role: 'REPLICA' }, primary.settings.allocatedStorageGb),
      ctx,
    );
    let result;
    try {
      result = await this.executor.execute(databaseDecider, databaseId, command, ctx, {
        expectNew: true,
      });
    } catch (error) {
      await this.quotas.release(tenantId, databaseId, ctx).catch(() => undefined);
      throw error;
    }
    await this.sagas.start(
      DATABASE_REPLICA_SAGA,
      databaseId,
      { databaseId, tenantId } satisfies DatabaseSagaInput,
      { tenantId, correlationId: ctx.correlationId, requestId: ctx.requestId },
    );
    return { result: { databaseId }, written: [written(result.position, DATABASES_PROJECTION)] };
  }
}

/**
 * Promote: pg_promote() on the replica (inside the request, like stop and start), its slot and
 * replication role dropped on the old primary, then DatabasePromoted. A crash in between leaves
 * the engine ahead of the log; promoting again finishes (pg_promote is skipped once out of
 * recovery, the drop is delete-if-present).
 */
@CommandHandler(PromoteDatabase)
export class PromoteDatabaseHandler extends UseCaseHandler<PromoteDatabase, DatabaseChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly access: DatabaseAccess,
    private readonly locks: DatabaseLocks,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected handle({ databaseId, ctx }: PromoteDatabase): Promise<Handled<DatabaseChanged>> {
    return this.locks.run(databaseId, async () => {
      const tenantId = tenantOf(ctx);
      const state = await ownedDatabase(this.executor, tenantId, databaseId);
      const command: DatabaseCommand = { type: 'PromoteDatabase', now: ctx.now };
      databaseDecider.decide(command, state);
      const engine = this.access.engineDriver;
      await engine.promote(databaseId, DATABASE_MASTER_USER);
      await this.access.waitReady(
        state,
        (state.endpoint as DatabaseEndpoint).port,
        await this.access.password(tenantId, databaseId),
      );
      await engine.dropReplicationSource(
        state.primaryId as string,
        DATABASE_MASTER_USER,
        replicationSlotName(databaseId),
      );
      // The copied role has no use on a standalone server either.
      await engine.dropReplicationSource(
        databaseId,
        DATABASE_MASTER_USER,
        replicationSlotName(databaseId),
      );
      await this.access.secretStore.remove(
        tenantId,
        replicationSecretName(databaseId),
        derivedContext(ctx, 'remove_replication_password'),
      );
      const result = await this.executor.execute(databaseDecider, databaseId, command, ctx);
      await this.quotas.reserve(
        tenantId,
        { id: databaseId, kind: 'database' },
        quotaAmountsOf({ role: 'PRIMARY' }, state.settings.allocatedStorageGb),
        ctx,
      );
      return { result: { databaseId }, written: [written(result.position, DATABASES_PROJECTION)] };
    });
  }
}

export const DATABASE_USE_CASES = [
  CreateReplicaHandler,
  PromoteDatabaseHandler,
  CreateDatabaseHandler,
  ModifyDatabaseHandler,
  ActOnDatabaseHandler,
  DeleteDatabaseHandler,
];
