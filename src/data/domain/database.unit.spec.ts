import { describe, expect, it } from 'vitest';

import { AppError } from '../../common/errors/app-error';
import {
  decideDatabase,
  evolveDatabase,
  initialDatabaseState,
  type DatabaseCommand,
  type DatabaseEvent,
  type DatabaseState,
} from './database';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const databaseId = '11111111-1111-5111-8111-111111111111';
const tenantId = '22222222-2222-4222-8222-222222222222';
const endpoint = { host: '127.0.0.1', port: 27010, poolerPort: null };
const settings = {
  allocatedStorageGb: 20,
  poolingEnabled: false,
  metricsEnabled: false,
  parameters: { max_connections: '100' },
};

const create: DatabaseCommand = {
  type: 'CreateDatabase',
  databaseId,
  tenantId,
  name: 'prod-db',
  engine: 'postgres',
  version: '15',
  settings,
  now,
};
const created = decideDatabase(create, initialDatabaseState())[0];
const running: DatabaseEvent = { type: 'DatabaseRunning', data: { databaseId, endpoint, at } };

function given(...events: DatabaseEvent[]): DatabaseState {
  return events.reduce(evolveDatabase, initialDatabaseState());
}
function errorOf(fn: () => unknown): AppError | null {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  return null;
}

describe('database decider', () => {
  it('creates a CREATING primary with validated settings', () => {
    expect(created).toEqual({
      type: 'DatabaseCreated',
      data: {
        databaseId,
        tenantId,
        name: 'prod-db',
        engine: 'postgres',
        version: '15',
        role: 'PRIMARY',
        settings,
        at,
      },
    });
    expect(given(created)).toMatchObject({
      status: 'CREATING',
      role: 'PRIMARY',
      credentialsVersion: 1,
    });
  });

  it('rejects an unknown engine or version, bad storage, parameters outside the allow-list (400)', () => {
    const cases: Array<[Partial<typeof create>, string]> = [
      [{ engine: 'mysql' }, 'engine'],
      [{ version: '9' }, 'version'],
      [{ settings: { ...settings, allocatedStorageGb: 0 } }, 'allocated_storage'],
      [{ settings: { ...settings, parameters: { fsync: 'off' } } }, 'parameters.fsync'],
      [
        { settings: { ...settings, parameters: { max_connections: '5' } } },
        'parameters.max_connections',
      ],
      [
        { settings: { ...settings, parameters: { work_mem: "1MB'; DROP" } } },
        'parameters.work_mem',
      ],
      [{ name: 'Prod' }, 'name'],
    ];
    for (const [patch, path] of cases) {
      const error = errorOf(() => decideDatabase({ ...create, ...patch }, given()));
      expect(error?.code, path).toBe('validation_error');
      expect(JSON.stringify(error?.details), path).toContain(path);
    }
  });

  it('records RUNNING once', () => {
    expect(
      decideDatabase({ type: 'RecordDatabaseRunning', endpoint, now }, given(created)),
    ).toEqual([running]);
    expect(
      decideDatabase({ type: 'RecordDatabaseRunning', endpoint, now }, given(created, running)),
    ).toEqual([]);
  });

  it('grows storage, never shrinks it; merges parameters and says how they apply', () => {
    const state = given(created, running);
    expect(
      errorOf(() => decideDatabase({ type: 'ModifyDatabase', allocatedStorageGb: 10, now }, state))
        ?.code,
    ).toBe('validation_error');
    const [reload] = decideDatabase(
      { type: 'ModifyDatabase', allocatedStorageGb: 40, parameters: { work_mem: '8MB' }, now },
      state,
    );
    expect(reload).toMatchObject({
      type: 'DatabaseModified',
      data: {
        settings: {
          allocatedStorageGb: 40,
          parameters: { max_connections: '100', work_mem: '8MB' },
        },
        applyBy: 'reload',
      },
    });
    const [restart] = decideDatabase(
      { type: 'ModifyDatabase', parameters: { max_connections: '200' }, now },
      state,
    );
    expect(restart).toMatchObject({ data: { applyBy: 'restart' } });
    expect(
      decideDatabase(
        { type: 'ModifyDatabase', parameters: { max_connections: '100' }, now },
        state,
      ),
    ).toEqual([]);
    expect(
      errorOf(() =>
        decideDatabase(
          { type: 'ModifyDatabase', parameters: { wal_level: 'minimal' }, now },
          state,
        ),
      )?.code,
    ).toBe('validation_error');
  });

  it('stops a RUNNING primary and starts it again; 409 otherwise', () => {
    const stopped = decideDatabase({ type: 'StopDatabase', now }, given(created, running));
    expect(stopped).toEqual([{ type: 'DatabaseStopped', data: { databaseId, at } }]);
    expect(errorOf(() => decideDatabase({ type: 'StopDatabase', now }, given(created)))?.code).toBe(
      'invalid_state',
    );
    expect(
      errorOf(() =>
        decideDatabase({ type: 'StartDatabase', endpoint, now }, given(created, running)),
      ),
    ).toBeNull();
    expect(
      errorOf(() => decideDatabase({ type: 'StartDatabase', endpoint, now }, given(created)))?.code,
    ).toBe('invalid_state');
    const started = decideDatabase(
      { type: 'StartDatabase', endpoint, now },
      given(created, running, ...stopped),
    );
    expect(given(created, running, ...stopped, ...started).status).toBe('RUNNING');
    const replica = { ...given(created, running), role: 'REPLICA' as const };
    expect(errorOf(() => decideDatabase({ type: 'StopDatabase', now }, replica))?.code).toBe(
      'invalid_state',
    );
  });

  it('rotates credentials only while RUNNING, counting versions', () => {
    const [rotated] = decideDatabase(
      { type: 'RotateDatabaseCredentials', now },
      given(created, running),
    );
    expect(rotated).toEqual({
      type: 'DatabaseCredentialsRotated',
      data: { databaseId, credentialsVersion: 2, at },
    });
    expect(
      errorOf(() => decideDatabase({ type: 'RotateDatabaseCredentials', now }, given(created)))
        ?.code,
    ).toBe('invalid_state');
  });

  it('deletes from any state, idempotently, then is gone', () => {
    const deleting = decideDatabase({ type: 'DeleteDatabase', now }, given(created));
    expect(decideDatabase({ type: 'DeleteDatabase', now }, given(created, ...deleting))).toEqual(
      [],
    );
    const deleted = decideDatabase(
      { type: 'RecordDatabaseDeleted', now },
      given(created, ...deleting),
    );
    expect(given(created, ...deleting, ...deleted).status).toBe('deleted');
    expect(
      errorOf(() =>
        decideDatabase({ type: 'DeleteDatabase', now }, given(created, ...deleting, ...deleted)),
      )?.code,
    ).toBe('not_found');
  });
});
