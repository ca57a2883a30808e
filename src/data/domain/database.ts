/**
 * The database aggregate (stream `database-<databaseId>`): a PostgreSQL server on its own data
 * volume, its owner's password in the secrets store (only a version number here).
 *
 *   (create) -> CREATING --running--> RUNNING --stop--> STOPPED --start--> RUNNING
 *   CREATING --failed--> FAILED
 *   any but DELETING --delete--> DELETING --deleted--> (gone)
 *
 * Rules: stop only a RUNNING primary (a replica, or CREATING/DELETING: 409 invalid_state); start
 * only a STOPPED one; storage only grows; parameters only from the allow-list; rotate and modify
 * only while RUNNING.
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
}

export interface DatabaseSettings {
  allocatedStorageGb: number;
  poolingEnabled: boolean;
  metricsEnabled: boolean;
  parameters: Record<string, string>;
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
      now: Date;
    }
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
  | { type: 'DeleteDatabase'; now: Date }
  | { type: 'RecordDatabaseDeleted'; now: Date };

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
        at: string;
      };
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
  | { type: 'DatabaseDeletionStarted'; data: { databaseId: string; at: string } }
  | { type: 'DatabaseDeleted'; data: { databaseId: string; at: string } };

export interface DatabaseState {
  status: DatabaseStatus | 'none' | 'deleted';
  databaseId: string | null;
  tenantId: string | null;
  name: string | null;
  engine: string | null;
  version: string | null;
  role: DatabaseRole;
  settings: DatabaseSettings;
  endpoint: DatabaseEndpoint | null;
  credentialsVersion: number;
  failureReason: string | null;
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
    settings: {
      allocatedStorageGb: 0,
      poolingEnabled: false,
      metricsEnabled: false,
      parameters: {},
    },
    endpoint: null,
    credentialsVersion: 0,
    failureReason: null,
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
      };
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
      return { ...state, status: 'DELETING' };
    case 'DatabaseDeleted':
      return { ...state, status: 'deleted', endpoint: null };
    default:
      return state;
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
          at,
        },
      },
    ];
  }
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
      return [
        {
          type: 'DatabaseCredentialsRotated',
          data: { databaseId, credentialsVersion: state.credentialsVersion + 1, at },
        },
      ];
    case 'DeleteDatabase':
      if (status === 'DELETING') return [];
      return [{ type: 'DatabaseDeletionStarted', data: { databaseId, at } }];
    case 'RecordDatabaseDeleted':
      if (status !== 'DELETING')
        throw invalidState('database', databaseId, status, 'record it deleted');
      return [{ type: 'DatabaseDeleted', data: { databaseId, at } }];
  }
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
