import { describe, expect, it } from 'vitest';

import { AppError } from '../../common/errors/app-error';
import {
  decideDatabase,
  evolveDatabase,
  initialDatabaseState,
  type DatabaseEvent,
} from './database';
import {
  decideSnapshot,
  evolveSnapshot,
  initialSnapshotState,
  type SnapshotCommand,
  type SnapshotEvent,
  type SnapshotState,
} from './snapshot';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const databaseId = '11111111-1111-5111-8111-111111111111';
const snapshotId = '33333333-3333-4333-8333-333333333333';
const tenantId = '22222222-2222-4222-8222-222222222222';
const settings = {
  allocatedStorageGb: 20,
  poolingEnabled: true,
  metricsEnabled: false,
  parameters: {},
};
const [dbCreated] = decideDatabase(
  {
    type: 'CreateDatabase',
    databaseId,
    tenantId,
    name: 'orders',
    engine: 'postgres',
    version: '15',
    settings,
    now,
  },
  initialDatabaseState(),
);
const dbRunning: DatabaseEvent = {
  type: 'DatabaseRunning',
  data: { databaseId, endpoint: { host: '127.0.0.1', port: 27001, poolerPort: null }, at },
};
const database = (...events: DatabaseEvent[]) =>
  events.reduce(evolveDatabase, initialDatabaseState());

type CreateSnapshot = Extract<SnapshotCommand, { type: 'CreateDatabaseSnapshot' }>;
const create = (state = database(dbCreated, dbRunning), tenant = tenantId): CreateSnapshot => ({
  type: 'CreateDatabaseSnapshot',
  snapshotId,
  tenantId: tenant,
  name: 'before-migration',
  source: { databaseId, state, sqlDatabase: 'orders' },
  now,
});
const [started] = decideSnapshot(create(), initialSnapshotState());
const available: SnapshotEvent = {
  type: 'DatabaseSnapshotAvailable',
  data: { snapshotId, sizeBytes: 4096, sha256: 'ab'.repeat(32), at },
};

function given(...events: SnapshotEvent[]): SnapshotState {
  return events.reduce(evolveSnapshot, initialSnapshotState());
}
function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return null;
}

describe('database snapshot decider', () => {
  it('given a RUNNING database, when a snapshot is asked for, then it is creating with the source and its settings', () => {
    expect(started).toEqual({
      type: 'DatabaseSnapshotStarted',
      data: {
        snapshotId,
        tenantId,
        name: 'before-migration',
        databaseId,
        databaseName: 'orders',
        engine: 'postgres',
        version: '15',
        sqlDatabase: 'orders',
        settings,
        at,
      },
    });
    expect(given(started)).toMatchObject({ status: 'creating', databaseId });
  });

  it('given a database that is not RUNNING, then 409; another tenant or none, then 404; a bad name 400', () => {
    expect(codeOf(() => decideSnapshot(create(database(dbCreated)), initialSnapshotState()))).toBe(
      'invalid_state',
    );
    const stopped = database(dbCreated, dbRunning, {
      type: 'DatabaseStopped',
      data: { databaseId, at },
    });
    expect(codeOf(() => decideSnapshot(create(stopped), initialSnapshotState()))).toBe(
      'invalid_state',
    );
    expect(
      codeOf(() => decideSnapshot(create(undefined, 'another-tenant'), initialSnapshotState())),
    ).toBe('not_found');
    expect(codeOf(() => decideSnapshot(create(database()), initialSnapshotState()))).toBe(
      'not_found',
    );
    expect(
      codeOf(() => decideSnapshot({ ...create(), name: 'Bad Name' }, initialSnapshotState())),
    ).toBe('validation_error');
  });

  it('given a repeat of the creation, then nothing more is appended', () => {
    expect(decideSnapshot(create(), given(started))).toEqual([]);
  });

  it('given creating, when recorded available, then size and sha256; a repeat appends nothing', () => {
    const state = given(started);
    const events = decideSnapshot(
      { type: 'RecordSnapshotAvailable', sizeBytes: 4096, sha256: 'ab'.repeat(32), now },
      state,
    );
    expect(events).toEqual([available]);
    const after = given(started, available);
    expect(after).toMatchObject({ status: 'available', sizeBytes: 4096 });
    expect(decideSnapshot({ type: 'RecordSnapshotFailed', reason: 'late', now }, after)).toEqual(
      [],
    );
  });

  it('given creating, when deleted, then 409; available or failed, then deleted once; deleted, then 404 to others', () => {
    expect(
      codeOf(() => decideSnapshot({ type: 'DeleteDatabaseSnapshot', now }, given(started))),
    ).toBe('invalid_state');
    const failed: SnapshotEvent = {
      type: 'DatabaseSnapshotFailed',
      data: { snapshotId, reason: 'pg_dump failed', at },
    };
    for (const state of [given(started, available), given(started, failed)]) {
      expect(decideSnapshot({ type: 'DeleteDatabaseSnapshot', now }, state)).toEqual([
        { type: 'DatabaseSnapshotDeleted', data: { snapshotId, at } },
      ]);
    }
    const deleted = given(started, available, {
      type: 'DatabaseSnapshotDeleted',
      data: { snapshotId, at },
    });
    expect(decideSnapshot({ type: 'DeleteDatabaseSnapshot', now }, deleted)).toEqual([]);
    expect(
      codeOf(() =>
        decideSnapshot(
          { type: 'RecordSnapshotAvailable', sizeBytes: 1, sha256: 'x', now },
          deleted,
        ),
      ),
    ).toBe('not_found');
  });
});

describe('database decider: a restore from a snapshot', () => {
  const restore = (fromSnapshot: SnapshotState, allocatedStorageGb = 20, tenant = tenantId) =>
    decideDatabase(
      {
        type: 'CreateDatabase',
        databaseId: '44444444-4444-4444-8444-444444444444',
        tenantId: tenant,
        name: 'orders-restored',
        engine: 'postgres',
        version: '15',
        settings: { ...settings, allocatedStorageGb },
        fromSnapshot,
        now,
      },
      initialDatabaseState(),
    );

  it('given an available snapshot, then the new database names it as its source', () => {
    const [event] = restore(given(started, available));
    expect(event).toMatchObject({
      type: 'DatabaseCreated',
      data: { sourceSnapshotId: snapshotId },
    });
  });

  it('given a creating, another tenant’s or deleted snapshot, or less storage than its source, then 409, 404, 404, 400', () => {
    expect(codeOf(() => restore(given(started)))).toBe('invalid_state');
    expect(codeOf(() => restore(given(started, available), 20, 'other'))).toBe('not_found');
    const deleted = given(started, available, {
      type: 'DatabaseSnapshotDeleted',
      data: { snapshotId, at },
    });
    expect(codeOf(() => restore(deleted))).toBe('not_found');
    expect(codeOf(() => restore(given(started, available), 10))).toBe('validation_error');
  });
});

describe('database decider: a delete with a final snapshot', () => {
  const finalSnapshotId = '44444444-4444-5444-8444-444444444444';
  const deleteWithFinal = { type: 'DeleteDatabase' as const, finalSnapshotId, now };

  it('given a RUNNING database, when deleted with a final snapshot, then DELETING names it', () => {
    const events = decideDatabase(deleteWithFinal, database(dbCreated, dbRunning));
    expect(events).toEqual([
      { type: 'DatabaseDeletionStarted', data: { databaseId, finalSnapshotId, at } },
    ]);
    const after = events.reduce(evolveDatabase, database(dbCreated, dbRunning));
    expect(after.status).toBe('DELETING');
    expect(after.finalSnapshotId).toBe(finalSnapshotId);
  });

  it('given a database that is not RUNNING, when deleted with a final snapshot, then 409 and nothing', () => {
    const stopped: DatabaseEvent = { type: 'DatabaseStopped', data: { databaseId, at } };
    for (const history of [[dbCreated], [dbCreated, dbRunning, stopped]]) {
      let caught: unknown;
      try {
        decideDatabase(deleteWithFinal, database(...history));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('invalid_state');
      expect((caught as AppError).message).toMatch(/final snapshot is taken of a RUNNING database/);
    }
    // Without one, the same databases delete.
    expect(decideDatabase({ type: 'DeleteDatabase', now }, database(dbCreated))).toHaveLength(1);
  });

  it('given a deletion whose final snapshot failed, when aborted, then RUNNING again with the endpoint it had', () => {
    const history = [
      dbCreated,
      dbRunning,
      ...decideDatabase(deleteWithFinal, database(dbCreated, dbRunning)),
    ];
    const events = decideDatabase(
      { type: 'AbortDatabaseDeletion', reason: 'pg_dump: connection refused', now },
      database(...history),
    );
    expect(events).toEqual([
      {
        type: 'DatabaseDeletionAborted',
        data: { databaseId, reason: 'pg_dump: connection refused', at },
      },
    ]);
    const after = database(...history, ...events);
    expect(after.status).toBe('RUNNING');
    expect(after.finalSnapshotId).toBeNull();
    expect(after.endpoint).toEqual(database(dbCreated, dbRunning).endpoint);
    // Once aborted (or for a database not DELETING), aborting again appends nothing.
    expect(decideDatabase({ type: 'AbortDatabaseDeletion', reason: 'again', now }, after)).toEqual(
      [],
    );
  });

  it('given a RUNNING database, when a final snapshot is started, then it is marked final', () => {
    const [started] = decideSnapshot(
      {
        type: 'CreateDatabaseSnapshot',
        snapshotId,
        tenantId,
        name: 'orders-final',
        source: {
          databaseId,
          state: database(dbCreated, dbRunning),
          sqlDatabase: 'orders',
        },
        final: true,
        now,
      },
      initialSnapshotState(),
    );
    expect(started?.type).toBe('DatabaseSnapshotStarted');
    expect(started?.data).toMatchObject({ final: true, databaseId });
    expect(evolveSnapshot(initialSnapshotState(), started).final).toBe(true);
  });
});
