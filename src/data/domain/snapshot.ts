/**
 * A database snapshot (stream `database-snapshot-<snapshotId>`): a logical copy (`pg_dump -Fc`)
 * of one database's SQL database, taken while it runs and kept after the database is deleted
 * (as a manual RDS snapshot is), restorable into a new database.
 *
 *   (create, source RUNNING) -> creating --available--> available --delete--> (gone)
 *   creating --failed--> failed --delete--> (gone)
 *
 * A delete may ask for a final snapshot (`final`): the database's delete saga takes it before the
 * engine goes, and the delete stops (the database RUNNING again) when it fails.
 *
 * Rules: only of a RUNNING database of the caller's tenant (another tenant's or a deleted one:
 * 404; any other state: 409 invalid_state); deleted only once `available` or `failed` (409 while
 * being taken); bytes and passwords never in events, only the file's size and SHA-256.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import type { DatabaseSettings, DatabaseState } from './database';
import { validateName } from './rules';

export const DATABASE_SNAPSHOT_CATEGORY = 'database-snapshot';

export type SnapshotStatus = 'creating' | 'available' | 'failed';

/** What a snapshot needs to know of its source database (loaded by the handler). */
export interface SnapshotSource {
  databaseId: string;
  state: DatabaseState;
  /** The SQL database the dump holds (`sqlDatabaseOf(state)`). */
  sqlDatabase: string;
}

export type SnapshotCommand =
  | {
      type: 'CreateDatabaseSnapshot';
      snapshotId: string;
      tenantId: string;
      name: string;
      source: SnapshotSource;
      /** Taken by the database's delete before its engine goes (not by a snapshot saga). */
      final?: boolean;
      now: Date;
    }
  | { type: 'RecordSnapshotAvailable'; sizeBytes: number; sha256: string; now: Date }
  | { type: 'RecordSnapshotFailed'; reason: string; now: Date }
  | { type: 'DeleteDatabaseSnapshot'; now: Date };

export type SnapshotEvent =
  | {
      type: 'DatabaseSnapshotStarted';
      data: {
        snapshotId: string;
        tenantId: string;
        name: string;
        databaseId: string;
        databaseName: string;
        engine: string;
        version: string;
        sqlDatabase: string;
        /** The source's settings, the defaults of a restore. */
        settings: DatabaseSettings;
        /** A delete's final snapshot: its delete saga takes it. */
        final?: true;
        at: string;
      };
    }
  | {
      type: 'DatabaseSnapshotAvailable';
      data: { snapshotId: string; sizeBytes: number; sha256: string; at: string };
    }
  | { type: 'DatabaseSnapshotFailed'; data: { snapshotId: string; reason: string; at: string } }
  | { type: 'DatabaseSnapshotDeleted'; data: { snapshotId: string; at: string } };

export interface SnapshotState {
  status: SnapshotStatus | 'none' | 'deleted';
  snapshotId: string | null;
  tenantId: string | null;
  name: string | null;
  databaseId: string | null;
  databaseName: string | null;
  engine: string | null;
  version: string | null;
  sqlDatabase: string | null;
  settings: DatabaseSettings | null;
  sizeBytes: number | null;
  sha256: string | null;
  failureReason: string | null;
  /** A delete's final snapshot (taken while the database is DELETING). */
  final: boolean;
}

export function initialSnapshotState(): SnapshotState {
  return {
    status: 'none',
    snapshotId: null,
    tenantId: null,
    name: null,
    databaseId: null,
    databaseName: null,
    engine: null,
    version: null,
    sqlDatabase: null,
    settings: null,
    sizeBytes: null,
    sha256: null,
    failureReason: null,
    final: false,
  };
}

export function evolveSnapshot(state: SnapshotState, event: SnapshotEvent): SnapshotState {
  switch (event.type) {
    case 'DatabaseSnapshotStarted':
      return {
        ...initialSnapshotState(),
        status: 'creating',
        snapshotId: event.data.snapshotId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        databaseId: event.data.databaseId,
        databaseName: event.data.databaseName,
        engine: event.data.engine,
        version: event.data.version,
        sqlDatabase: event.data.sqlDatabase,
        settings: event.data.settings,
        final: event.data.final === true,
      };
    case 'DatabaseSnapshotAvailable':
      return {
        ...state,
        status: 'available',
        sizeBytes: event.data.sizeBytes,
        sha256: event.data.sha256,
      };
    case 'DatabaseSnapshotFailed':
      return { ...state, status: 'failed', failureReason: event.data.reason };
    case 'DatabaseSnapshotDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

export function decideSnapshot(command: SnapshotCommand, state: SnapshotState): SnapshotEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateDatabaseSnapshot') {
    if (state.status !== 'none') return [];
    validateName(command.name);
    const { source } = command;
    const db = source.state;
    if (db.tenantId !== command.tenantId || db.status === 'none' || db.status === 'deleted') {
      throw AppError.notFound('database', source.databaseId);
    }
    if (db.status !== 'RUNNING' || db.engine === null || db.version === null) {
      throw AppError.invalidState(
        `database ${source.databaseId} is ${db.status}; a snapshot is taken of a RUNNING database`,
        { resource: 'database', id: source.databaseId, status: db.status },
      );
    }
    return [
      {
        type: 'DatabaseSnapshotStarted',
        data: {
          snapshotId: command.snapshotId,
          tenantId: command.tenantId,
          name: command.name,
          databaseId: source.databaseId,
          databaseName: db.name ?? source.databaseId,
          engine: db.engine,
          version: db.version,
          sqlDatabase: source.sqlDatabase,
          settings: db.settings,
          ...(command.final ? { final: true as const } : {}),
          at,
        },
      },
    ];
  }
  const snapshotId = state.snapshotId ?? '';
  if (state.status === 'none' || state.status === 'deleted') {
    if (command.type === 'DeleteDatabaseSnapshot' && state.status === 'deleted') return [];
    throw AppError.notFound('database_snapshot', snapshotId);
  }
  switch (command.type) {
    case 'RecordSnapshotAvailable':
      if (state.status !== 'creating') return [];
      return [
        {
          type: 'DatabaseSnapshotAvailable',
          data: { snapshotId, sizeBytes: command.sizeBytes, sha256: command.sha256, at },
        },
      ];
    case 'RecordSnapshotFailed':
      if (state.status !== 'creating') return [];
      return [{ type: 'DatabaseSnapshotFailed', data: { snapshotId, reason: command.reason, at } }];
    case 'DeleteDatabaseSnapshot':
      if (state.status === 'creating') {
        throw AppError.invalidState(
          `database snapshot ${snapshotId} is being taken; delete it once available or failed`,
          { resource: 'database_snapshot', id: snapshotId, status: state.status },
        );
      }
      return [{ type: 'DatabaseSnapshotDeleted', data: { snapshotId, at } }];
  }
}

export const snapshotDecider: Decider<SnapshotCommand, SnapshotEvent, SnapshotState> = {
  category: DATABASE_SNAPSHOT_CATEGORY,
  initialState: initialSnapshotState,
  evolve: evolveSnapshot,
  decide: decideSnapshot,
};
