/**
 * The database aggregate (stream `database-<databaseId>`): a PostgreSQL server on its own data
 * volume, its owner's password in the secrets store (only a version number here).
 *
 *   (create) -> CREATING --running--> RUNNING --stop--> STOPPED --start--> RUNNING
 *   CREATING --failed--> FAILED
 *   any but DELETING --delete--> DELETING --deleted--> (gone)
 *   RUNNING --delete with a final snapshot--> DELETING --snapshot failed--> RUNNING (aborted)
 *   (create replica of a RUNNING primary) -> CREATING (role REPLICA, primaryId) -> RUNNING
 *   RUNNING replica --promote--> RUNNING primary (primaryId null)
 *
 * Rules: stop only a RUNNING primary (a replica, or CREATING/DELETING: 409 invalid_state); start
 * only a STOPPED one; storage only grows; parameters only from the allow-list; rotate and modify
 * only while RUNNING (rotate not on a replica: it carries its primary's roles, so rotating the
 * primary's password changes it on the replicas too). A replica is made only from a RUNNING primary (a replica or a database in
 * any other state: 409 invalid_state); promote only a RUNNING replica (a primary: 409
 * invalid_state); a primary that still has replicas cannot be deleted (409 dependency_violation:
 * delete or promote them first).
 *
 * Drift (the data reconciler): a RUNNING database whose server (or pgbouncer) container exited is
 * started again, `DatabaseEngineRestarted` recorded with the endpoint it answers on (status
 * unchanged: the data volume kept everything); a container removed behind Nimbus's back, or one
 * that does not start and accept the owner's login, is `DatabaseEngineLost`: FAILED with the
 * reason, for RUNNING and STOPPED alike (delete is what remains).
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { applyByOf, validateParameters, type ApplyBy } from './parameters';
import { invalidState, validateName } from './rules';

export const DATABASE_CATEGORY = 'database';
export const DATABASE_ENGINES = ['postgres'] as const;
export const POSTGRES_VERSIONS = ['15'] as const;
export const STORAGE_MIN_GB = 1;
export const STORAGE_MAX_GB = 1024;

export type DatabaseStatus = 'CREATING' | 'RUNNING' | 'STOPPED' | 'DELETING' | 'FAILED';
export type DatabaseRole = 'PRIMARY' | 'REPLICA';

export interface DatabaseEndpoint {
  host: string;
  port: number;
  /** pgbouncer's port while pooling is on. */
  poolerPort: number | null;
  /** The Prometheus exporter's port while metrics are on (absent in events older than it). */
  metricsPort?: number | null;
}

export interface DatabaseSettings {
  allocatedStorageGb: number;
  poolingEnabled: boolean;
  metricsEnabled: boolean;
  parameters: Record<string, string>;
}

/** What a restore needs to know of its snapshot (a `SnapshotState`, loaded by the handler). */
export interface RestoreSource {
  snapshotId: string | null;
  tenantId: string | null;
  status: string;
  engine: string | null;
  version: string | null;
  settings: DatabaseSettings | null;
}

/** What a replica's creation needs to know of its primary (loaded by the handler). */
export interface ReplicaSource {
  databaseId: string;
  tenantId: string | null;
  status: DatabaseState['status'];
  role: DatabaseRole;
  engine: string | null;
  version: string | null;
  settings: DatabaseSettings;
  /** The SQL database the copy carries (`sqlDatabaseOf(primary)`). */
  sqlDatabase: string;
}

export type DatabaseCommand =
  | {
      type: 'CreateDatabase';
      databaseId: string;
      tenantId: string;
      name: string;
      engine: string;
      version: string;
      settings: DatabaseSettings;
      /** A restore: the snapshot whose data the new database starts with (loaded by the handler). */
      fromSnapshot?: RestoreSource;
      now: Date;
    }
  | {
      type: 'CreateReplica';
      databaseId: string;
      tenantId: string;
      name: string;
      primary: ReplicaSource;
      now: Date;
    }
  | { type: 'PromoteDatabase'; now: Date }
  | { type: 'RecordDatabaseRunning'; endpoint: DatabaseEndpoint; now: Date }
  | { type: 'RecordDatabaseFailed'; reason: string; now: Date }
  | {
      type: 'ModifyDatabase';
      allocatedStorageGb?: number;
      poolingEnabled?: boolean;
      metricsEnabled?: boolean;
      parameters?: Record<string, unknown>;
      /** The endpoint after the change (pgbouncer's port comes and goes with pooling). */
      endpoint?: DatabaseEndpoint;
      now: Date;
    }
  | { type: 'StopDatabase'; now: Date }
  | { type: 'StartDatabase'; endpoint: DatabaseEndpoint; now: Date }
  | { type: 'RotateDatabaseCredentials'; now: Date }
  | {
      type: 'DeleteDatabase';
      /** Replicas of this primary not deleted yet (from the read model). */
      replicaIds?: readonly string[];
      /** A final snapshot to take before the engine goes (the database must be RUNNING). */
      finalSnapshotId?: string;
      now: Date;
    }
  | { type: 'RecordDatabaseDeleted'; now: Date }
  /** The final snapshot failed: the delete stops, the database runs on untouched. */
  | { type: 'AbortDatabaseDeletion'; reason: string; now: Date }
  | {
      type: 'RecordDatabaseEngineRestarted';
      reason: string;
      endpoint: DatabaseEndpoint;
      now: Date;
    }
  | { type: 'RecordDatabaseEngineLost'; reason: string; now: Date };

export type DatabaseEvent =
  | {
      type: 'DatabaseCreated';
      data: {
        databaseId: string;
        tenantId: string;
        name: string;
        engine: string;
        version: string;
        role: DatabaseRole;
        settings: DatabaseSettings;
        /** Set on a restore: provisioning loads this snapshot's data before RUNNING. */
        sourceSnapshotId?: string;
        at: string;
      };
    }
  | {
      type: 'DatabaseReplicaCreated';
      data: {
        databaseId: string;
        tenantId: string;
        name: string;
        engine: string;
        version: string;
        role: 'REPLICA';
        primaryId: string;
        /** The primary's SQL database, which the copy carries under the same name. */
        sqlDatabase: string;
        settings: DatabaseSettings;
        at: string;
      };
    }
  | {
      type: 'DatabasePromoted';
      data: { databaseId: string; formerPrimaryId: string; at: string };
    }
  | {
      type: 'DatabaseRunning';
      data: { databaseId: string; endpoint: DatabaseEndpoint; at: string };
    }
  | { type: 'DatabaseFailed'; data: { databaseId: string; reason: string; at: string } }
  | {
      type: 'DatabaseModified';
      data: {
        databaseId: string;
        settings: DatabaseSettings;
        /** How the parameter changes apply; null when none changed. */
        applyBy: ApplyBy | null;
        endpoint: DatabaseEndpoint | null;
        at: string;
      };
    }
  | { type: 'DatabaseStopped'; data: { databaseId: string; at: string } }
  | {
      type: 'DatabaseStarted';
      data: { databaseId: string; endpoint: DatabaseEndpoint; at: string };
    }
  | {
      type: 'DatabaseCredentialsRotated';
      data: { databaseId: string; credentialsVersion: number; at: string };
    }
  | {
      type: 'DatabaseDeletionStarted';
      data: { databaseId: string; finalSnapshotId?: string; at: string };
    }
  | { type: 'DatabaseDeletionAborted'; data: { databaseId: string; reason: string; at: string } }
  | { type: 'DatabaseDeleted'; data: { databaseId: string; at: string } }
  | {
      type: 'DatabaseEngineRestarted';
      data: { databaseId: string; reason: string; endpoint: DatabaseEndpoint; at: string };
    }
  | { type: 'DatabaseEngineLost'; data: { databaseId: string; reason: string; at: string } };

export interface DatabaseState {
  status: DatabaseStatus | 'none' | 'deleted';
  databaseId: string | null;
  tenantId: string | null;
  name: string | null;
  engine: string | null;
  version: string | null;
  role: DatabaseRole;
  /** The primary a replica streams from; null for a primary. */
  primaryId: string | null;
  /** The SQL database's name when it is not the one the name gives (a replica's: its primary's). */
  sqlDatabase?: string | null;
  settings: DatabaseSettings;
  endpoint: DatabaseEndpoint | null;
  credentialsVersion: number;
  failureReason: string | null;
  /** Restarts the reconciler made after a container exited. */
  engineRestarts: number;
  /** The snapshot a restored database was made from. */
  sourceSnapshotId?: string | null;
  /** While DELETING: the final snapshot the delete takes first, if one was asked for. */
  finalSnapshotId?: string | null;
}

export function initialDatabaseState(): DatabaseState {
  return {
    status: 'none',
    databaseId: null,
    tenantId: null,
    name: null,
    engine: null,
    version: null,
    role: 'PRIMARY',
    primaryId: null,
    settings: {
      allocatedStorageGb: 0,
      poolingEnabled: false,
      metricsEnabled: false,
      parameters: {},
    },
    endpoint: null,
    credentialsVersion: 0,
    failureReason: null,
    engineRestarts: 0,
  };
}

export function evolveDatabase(state: DatabaseState, event: DatabaseEvent): DatabaseState {
  switch (event.type) {
    case 'DatabaseCreated':
      return {
        ...initialDatabaseState(),
        status: 'CREATING',
        databaseId: event.data.databaseId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        engine: event.data.engine,
        version: event.data.version,
        role: event.data.role,
        settings: event.data.settings,
        credentialsVersion: 1,
        sourceSnapshotId: event.data.sourceSnapshotId ?? null,
      };
    case 'DatabaseReplicaCreated':
      return {
        ...initialDatabaseState(),
        status: 'CREATING',
        databaseId: event.data.databaseId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        engine: event.data.engine,
        version: event.data.version,
        role: 'REPLICA',
        primaryId: event.data.primaryId,
        sqlDatabase: event.data.sqlDatabase,
        settings: event.data.settings,
        credentialsVersion: 1,
      };
    case 'DatabasePromoted':
      return { ...state, role: 'PRIMARY', primaryId: null };
    case 'DatabaseRunning':
      return { ...state, status: 'RUNNING', endpoint: event.data.endpoint, failureReason: null };
    case 'DatabaseFailed':
      return { ...state, status: 'FAILED', failureReason: event.data.reason };
    case 'DatabaseModified':
      return {
        ...state,
        settings: event.data.settings,
        endpoint: event.data.endpoint ?? state.endpoint,
      };
    case 'DatabaseStopped':
      return { ...state, status: 'STOPPED' };
    case 'DatabaseStarted':
      return { ...state, status: 'RUNNING', endpoint: event.data.endpoint };
    case 'DatabaseCredentialsRotated':
      return { ...state, credentialsVersion: event.data.credentialsVersion };
    case 'DatabaseDeletionStarted':
      return { ...state, status: 'DELETING', finalSnapshotId: event.data.finalSnapshotId ?? null };
    case 'DatabaseDeletionAborted':
      return { ...state, status: 'RUNNING', finalSnapshotId: null };
    case 'DatabaseDeleted':
      return { ...state, status: 'deleted', endpoint: null };
    case 'DatabaseEngineRestarted':
      return {
        ...state,
        endpoint: event.data.endpoint,
        engineRestarts: (state.engineRestarts ?? 0) + 1,
      };
    case 'DatabaseEngineLost':
      return { ...state, status: 'FAILED', failureReason: event.data.reason };
    default:
      return state;
  }
}

/**
 * A restore's snapshot: the caller's (else 404), `available` (else 409), of the same engine and
 * major version, into at least the storage its source had (400).
 */
function validateRestoreSource(
  snapshot: RestoreSource,
  command: Extract<DatabaseCommand, { type: 'CreateDatabase' }>,
): void {
  const id = snapshot.snapshotId ?? 'unknown';
  if (snapshot.tenantId !== command.tenantId || snapshot.status === 'none') {
    throw AppError.notFound('database_snapshot', id);
  }
  if (snapshot.status === 'deleted') throw AppError.notFound('database_snapshot', id);
  if (snapshot.status !== 'available') {
    throw AppError.invalidState(
      `database snapshot ${id} is ${snapshot.status}; only an available snapshot is restored`,
      { resource: 'database_snapshot', id, status: snapshot.status },
    );
  }
  if (snapshot.engine !== command.engine || snapshot.version !== command.version) {
    throw AppError.validation('the snapshot is of another engine or version', [
      {
        path: 'version',
        message: `the snapshot holds ${snapshot.engine} ${snapshot.version}`,
      },
    ]);
  }
  const minimum = snapshot.settings?.allocatedStorageGb ?? 0;
  if (command.settings.allocatedStorageGb < minimum) {
    throw AppError.validation('allocated_storage is smaller than the snapshot source', [
      {
        path: 'allocated_storage',
        message: `allocated_storage must be at least the source's ${minimum} GB`,
      },
    ]);
  }
}

export function validateDatabaseRequest(input: {
  engine: string;
  version: string;
  allocatedStorageGb: number;
}): void {
  if (!(DATABASE_ENGINES as readonly string[]).includes(input.engine)) {
    throw AppError.validation('engine is not supported', [
      { path: 'engine', message: `engine must be one of: ${DATABASE_ENGINES.join(', ')}` },
    ]);
  }
  if (!(POSTGRES_VERSIONS as readonly string[]).includes(input.version)) {
    throw AppError.validation('version is not supported', [
      { path: 'version', message: `version must be one of: ${POSTGRES_VERSIONS.join(', ')}` },
    ]);
  }
  validateStorage(input.allocatedStorageGb);
}

function validateStorage(gb: number): void {
  if (!Number.isInteger(gb) || gb < STORAGE_MIN_GB || gb > STORAGE_MAX_GB) {
    throw AppError.validation('allocated_storage is out of range', [
      {
        path: 'allocated_storage',
        message: `allocated_storage must be an integer from ${STORAGE_MIN_GB} to ${STORAGE_MAX_GB} (GB)`,
      },
    ]);
  }
}

export function decideDatabase(command: DatabaseCommand, state: DatabaseState): DatabaseEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateDatabase') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `database ${command.databaseId} already exists`, {
        resource: 'database',
        id: command.databaseId,
      });
    }
    validateName(command.name);
    validateDatabaseRequest({
      engine: command.engine,
      version: command.version,
      allocatedStorageGb: command.settings.allocatedStorageGb,
    });
    const parameters = validateParameters(command.settings.parameters);
    const snapshot = command.fromSnapshot;
    if (snapshot) validateRestoreSource(snapshot, command);
    return [
      {
        type: 'DatabaseCreated',
        data: {
          databaseId: command.databaseId,
          tenantId: command.tenantId,
          name: command.name,
          engine: command.engine,
          version: command.version,
          role: 'PRIMARY',
          settings: { ...command.settings, parameters },
          ...(snapshot ? { sourceSnapshotId: snapshot.snapshotId as string } : {}),
          at,
        },
      },
    ];
  }
  if (command.type === 'CreateReplica') return decideCreateReplica(command, state, at);
  if (state.status === 'none' || state.status === 'deleted') {
    if (command.type === 'RecordDatabaseDeleted' && state.status === 'deleted') return [];
    throw AppError.notFound('database', state.databaseId ?? 'unknown');
  }
  const databaseId = state.databaseId as string;
  const status = state.status;
  switch (command.type) {
    case 'RecordDatabaseRunning':
      if (status === 'RUNNING') return [];
      if (status !== 'CREATING')
        throw invalidState('database', databaseId, status, 'record it running');
      return [{ type: 'DatabaseRunning', data: { databaseId, endpoint: command.endpoint, at } }];
    case 'RecordDatabaseFailed':
      if (status === 'FAILED' || status === 'DELETING') return [];
      return [
        { type: 'DatabaseFailed', data: { databaseId, reason: command.reason.slice(0, 1000), at } },
      ];
    case 'ModifyDatabase': {
      if (status !== 'RUNNING') throw invalidState('database', databaseId, status, 'modify it');
      const current = state.settings;
      if (command.allocatedStorageGb !== undefined) {
        validateStorage(command.allocatedStorageGb);
        if (command.allocatedStorageGb < current.allocatedStorageGb) {
          throw AppError.validation('allocated_storage can only grow', [
            {
              path: 'allocated_storage',
              message: `allocated_storage must be at least the current ${current.allocatedStorageGb} GB`,
            },
          ]);
        }
      }
      const parameters = command.parameters ? validateParameters(command.parameters) : {};
      const merged = { ...current.parameters, ...parameters };
      const changed = Object.keys(parameters).filter(
        (k) => current.parameters[k] !== parameters[k],
      );
      const settings: DatabaseSettings = {
        allocatedStorageGb: command.allocatedStorageGb ?? current.allocatedStorageGb,
        poolingEnabled: command.poolingEnabled ?? current.poolingEnabled,
        metricsEnabled: command.metricsEnabled ?? current.metricsEnabled,
        parameters: merged,
      };
      if (JSON.stringify(settings) === JSON.stringify(current)) return [];
      return [
        {
          type: 'DatabaseModified',
          data: {
            databaseId,
            settings,
            applyBy: applyByOf(changed),
            endpoint: command.endpoint ?? state.endpoint,
            at,
          },
        },
      ];
    }
    case 'StopDatabase':
      if (state.role === 'REPLICA') {
        throw AppError.invalidState(
          `database ${databaseId} is a replica; promote it before stopping it`,
          {
            resource: 'database',
            id: databaseId,
            role: 'REPLICA',
          },
        );
      }
      if (status === 'STOPPED') return [];
      if (status !== 'RUNNING') throw invalidState('database', databaseId, status, 'stop it');
      return [{ type: 'DatabaseStopped', data: { databaseId, at } }];
    case 'StartDatabase':
      if (status === 'RUNNING') return [];
      if (status !== 'STOPPED') throw invalidState('database', databaseId, status, 'start it');
      return [{ type: 'DatabaseStarted', data: { databaseId, endpoint: command.endpoint, at } }];
    case 'RotateDatabaseCredentials':
      if (status !== 'RUNNING')
        throw invalidState('database', databaseId, status, 'rotate its credentials');
      if (state.role === 'REPLICA') {
        throw AppError.invalidState(
          `database ${databaseId} is a replica: it carries its primary's credentials; rotate the primary's (${state.primaryId})`,
          { resource: 'database', id: databaseId, role: state.role, primary_id: state.primaryId },
        );
      }
      return [
        {
          type: 'DatabaseCredentialsRotated',
          data: { databaseId, credentialsVersion: state.credentialsVersion + 1, at },
        },
      ];
    case 'PromoteDatabase':
      if (state.role !== 'REPLICA') {
        throw AppError.invalidState(
          `database ${databaseId} is a primary; only a replica can be promoted`,
          { resource: 'database', id: databaseId, role: state.role },
        );
      }
      if (status !== 'RUNNING') throw invalidState('database', databaseId, status, 'promote it');
      return [
        {
          type: 'DatabasePromoted',
          data: { databaseId, formerPrimaryId: state.primaryId as string, at },
        },
      ];
    case 'DeleteDatabase': {
      if (status === 'DELETING') return [];
      if (command.replicaIds && command.replicaIds.length > 0) {
        throw new AppError(
          'dependency_violation',
          `database ${databaseId} has replicas (${command.replicaIds.join(', ')}); delete or promote them first`,
          { resource: 'database', id: databaseId, replicas: [...command.replicaIds] },
        );
      }
      const finalSnapshotId = command.finalSnapshotId;
      if (finalSnapshotId !== undefined && status !== 'RUNNING') {
        throw AppError.invalidState(
          `database ${databaseId} is ${status}; a final snapshot is taken of a RUNNING database (start it first, or delete it without one)`,
          { resource: 'database', id: databaseId, status },
        );
      }
      return [
        {
          type: 'DatabaseDeletionStarted',
          data: { databaseId, ...(finalSnapshotId ? { finalSnapshotId } : {}), at },
        },
      ];
    }
    case 'AbortDatabaseDeletion':
      if (status !== 'DELETING') return [];
      return [
        {
          type: 'DatabaseDeletionAborted',
          data: { databaseId, reason: command.reason.slice(0, 1000), at },
        },
      ];
    case 'RecordDatabaseDeleted':
      if (status !== 'DELETING')
        throw invalidState('database', databaseId, status, 'record it deleted');
      return [{ type: 'DatabaseDeleted', data: { databaseId, at } }];
    case 'RecordDatabaseEngineRestarted':
      if (status !== 'RUNNING') return [];
      return [
        {
          type: 'DatabaseEngineRestarted',
          data: {
            databaseId,
            reason: command.reason.slice(0, 1000),
            endpoint: command.endpoint,
            at,
          },
        },
      ];
    case 'RecordDatabaseEngineLost':
      if (status !== 'RUNNING' && status !== 'STOPPED') return [];
      return [
        {
          type: 'DatabaseEngineLost',
          data: { databaseId, reason: command.reason.slice(0, 1000), at },
        },
      ];
  }
}

function decideCreateReplica(
  command: Extract<DatabaseCommand, { type: 'CreateReplica' }>,
  state: DatabaseState,
  at: string,
): DatabaseEvent[] {
  if (state.status !== 'none') {
    throw new AppError('conflict', `database ${command.databaseId} already exists`, {
      resource: 'database',
      id: command.databaseId,
    });
  }
  const primary = command.primary;
  if (
    primary.tenantId !== command.tenantId ||
    primary.status === 'none' ||
    primary.status === 'deleted'
  ) {
    throw AppError.notFound('database', primary.databaseId);
  }
  validateName(command.name);
  if (primary.role !== 'PRIMARY') {
    throw AppError.invalidState(
      `database ${primary.databaseId} is a replica; replicas are made from a primary`,
      { resource: 'database', id: primary.databaseId, role: primary.role },
    );
  }
  if (primary.status !== 'RUNNING') {
    throw invalidState('database', primary.databaseId, primary.status, 'make a replica of it');
  }
  return [
    {
      type: 'DatabaseReplicaCreated',
      data: {
        databaseId: command.databaseId,
        tenantId: command.tenantId,
        name: command.name,
        engine: primary.engine as string,
        version: primary.version as string,
        role: 'REPLICA',
        primaryId: primary.databaseId,
        sqlDatabase: primary.sqlDatabase,
        // Pooling, metrics and parameters are the primary's business: a replica starts plain.
        settings: {
          allocatedStorageGb: primary.settings.allocatedStorageGb,
          poolingEnabled: false,
          metricsEnabled: false,
          parameters: {},
        },
        at,
      },
    },
  ];
}

export const databaseDecider: Decider<DatabaseCommand, DatabaseEvent, DatabaseState> = {
  category: DATABASE_CATEGORY,
  initialState: initialDatabaseState,
  evolve: evolveDatabase,
  decide: decideDatabase,
};

/** The owner role every database gets (its password: the database's secret). */
export const DATABASE_MASTER_USER = 'nimbus';

/** The SQL database a database's name gives (`prod-db` → `prod_db`). */
export function sqlDatabaseNameOf(name: string): string {
  return name.replace(/-/g, '_');
}

/** The SQL database a database serves: its own name's, or for a replica (even promoted) its primary's. */
export function sqlDatabaseOf(state: Pick<DatabaseState, 'name' | 'sqlDatabase'>): string {
  return state.sqlDatabase ?? sqlDatabaseNameOf(state.name as string);
}
