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

  it("given a RUNNING replica, when its credentials are rotated, then 409 naming its primary's", () => {
    const replica = { ...given(created, running), role: 'REPLICA' as const, primaryId: 'p-1' };
    const error = errorOf(() =>
      decideDatabase({ type: 'RotateDatabaseCredentials', now }, replica),
    );
    expect(error?.code).toBe('invalid_state');
    expect(error?.message).toContain("rotate the primary's (p-1)");
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

  describe('replicas and promote', () => {
    const replicaId = '33333333-3333-5333-8333-333333333333';
    const primaryState = given(created, running);
    const source = (state: DatabaseState) => ({
      databaseId,
      tenantId: state.tenantId,
      status: state.status,
      role: state.role,
      engine: state.engine,
      version: state.version,
      settings: state.settings,
      sqlDatabase: 'prod_db',
    });
    const createReplica = (
      state: DatabaseState,
    ): Extract<DatabaseCommand, { type: 'CreateReplica' }> => ({
      type: 'CreateReplica',
      databaseId: replicaId,
      tenantId,
      name: 'prod-db-replica-1',
      primary: source(state),
      now,
    });
    const replicaCreated = decideDatabase(createReplica(primaryState), initialDatabaseState())[0];
    const replicaRunning: DatabaseEvent = {
      type: 'DatabaseRunning',
      data: { databaseId: replicaId, endpoint, at },
    };

    it('given a RUNNING primary, when a replica is created, then a CREATING REPLICA names it', () => {
      expect(replicaCreated).toEqual({
        type: 'DatabaseReplicaCreated',
        data: {
          databaseId: replicaId,
          tenantId,
          name: 'prod-db-replica-1',
          engine: 'postgres',
          version: '15',
          role: 'REPLICA',
          primaryId: databaseId,
          sqlDatabase: 'prod_db',
          settings: { ...settings, parameters: {} },
          at,
        },
      });
      const state = given(replicaCreated);
      expect(state).toMatchObject({ status: 'CREATING', role: 'REPLICA', primaryId: databaseId });
    });

    it('given a replica, a STOPPED or CREATING primary, when a replica is asked for, then 409', () => {
      const replicaState = given(replicaCreated, replicaRunning);
      const stopped = given(created, running, {
        type: 'DatabaseStopped',
        data: { databaseId, at },
      });
      for (const state of [replicaState, stopped, given(created)]) {
        const error = errorOf(() =>
          decideDatabase(
            { ...createReplica(state), primary: { ...source(state), databaseId } },
            initialDatabaseState(),
          ),
        );
        expect(error?.code).toBe('invalid_state');
      }
    });

    it("given another tenant's or a deleted primary, when a replica is asked for, then 404", () => {
      const other = { ...primaryState, tenantId: '44444444-4444-4444-8444-444444444444' };
      const gone = given(
        created,
        running,
        { type: 'DatabaseDeletionStarted', data: { databaseId, at } },
        { type: 'DatabaseDeleted', data: { databaseId, at } },
      );
      for (const state of [other, gone]) {
        expect(
          errorOf(() => decideDatabase(createReplica(state), initialDatabaseState()))?.code,
        ).toBe('not_found');
      }
      expect(
        errorOf(() =>
          decideDatabase(
            { ...createReplica(primaryState), name: 'Bad_Name' },
            initialDatabaseState(),
          ),
        )?.code,
      ).toBe('validation_error');
    });

    it('given a RUNNING replica, when promoted, then it is a primary without primary_id', () => {
      const state = given(replicaCreated, replicaRunning);
      const events = decideDatabase({ type: 'PromoteDatabase', now }, state);
      expect(events).toEqual([
        {
          type: 'DatabasePromoted',
          data: { databaseId: replicaId, formerPrimaryId: databaseId, at },
        },
      ]);
      const promoted = events.reduce(evolveDatabase, state);
      expect(promoted).toMatchObject({ status: 'RUNNING', role: 'PRIMARY', primaryId: null });
      // Now a primary: stop is allowed, promote again is not.
      expect(decideDatabase({ type: 'StopDatabase', now }, promoted)).toHaveLength(1);
      expect(errorOf(() => decideDatabase({ type: 'PromoteDatabase', now }, promoted))?.code).toBe(
        'invalid_state',
      );
    });

    it('given a primary or a CREATING replica, when promoted, then 409 and nothing', () => {
      expect(
        errorOf(() => decideDatabase({ type: 'PromoteDatabase', now }, primaryState))?.code,
      ).toBe('invalid_state');
      expect(
        errorOf(() => decideDatabase({ type: 'PromoteDatabase', now }, given(replicaCreated)))
          ?.code,
      ).toBe('invalid_state');
    });

    it('given a RUNNING replica, when stopped, then 409', () => {
      const state = given(replicaCreated, replicaRunning);
      expect(errorOf(() => decideDatabase({ type: 'StopDatabase', now }, state))?.code).toBe(
        'invalid_state',
      );
    });

    it('given a primary with replicas, when deleted, then 409 dependency_violation; without, DELETING', () => {
      expect(
        errorOf(() =>
          decideDatabase({ type: 'DeleteDatabase', replicaIds: [replicaId], now }, primaryState),
        )?.code,
      ).toBe('dependency_violation');
      expect(
        decideDatabase({ type: 'DeleteDatabase', replicaIds: [], now }, primaryState)[0]?.type,
      ).toBe('DatabaseDeletionStarted');
      const replicaState = given(replicaCreated, replicaRunning);
      expect(decideDatabase({ type: 'DeleteDatabase', now }, replicaState)[0]?.type).toBe(
        'DatabaseDeletionStarted',
      );
    });
  });
});

describe('database decider: drift found by the reconciler', () => {
  const moved = { ...endpoint, poolerPort: 27011 };
  const restart: DatabaseCommand = {
    type: 'RecordDatabaseEngineRestarted',
    reason: 'the server container had exited',
    endpoint: moved,
    now,
  };
  const lost: DatabaseCommand = { type: 'RecordDatabaseEngineLost', reason: 'removed', now };
  const stopped: DatabaseEvent = { type: 'DatabaseStopped', data: { databaseId, at } };

  it('given RUNNING, when an exited container was restarted, then the restart and the endpoint are recorded', () => {
    const events = decideDatabase(restart, given(created, running));
    expect(events).toEqual([
      {
        type: 'DatabaseEngineRestarted',
        data: { databaseId, reason: 'the server container had exited', endpoint: moved, at },
      },
    ]);
    expect(given(created, running, ...events)).toMatchObject({
      status: 'RUNNING',
      endpoint: moved,
      engineRestarts: 1,
    });
  });

  it('given STOPPED, when a restart is reported, then nothing is recorded (stopped is what it should be)', () => {
    expect(decideDatabase(restart, given(created, running, stopped))).toEqual([]);
  });

  it('given RUNNING or STOPPED, when the container is lost, then it is FAILED with the reason', () => {
    for (const history of [
      [created, running],
      [created, running, stopped],
    ]) {
      const events = decideDatabase(lost, given(...history));
      expect(events).toEqual([
        { type: 'DatabaseEngineLost', data: { databaseId, reason: 'removed', at } },
      ]);
      expect(given(...history, ...events)).toMatchObject({
        status: 'FAILED',
        failureReason: 'removed',
      });
    }
  });

  it('given CREATING, DELETING or FAILED, when drift is reported, then nothing is recorded', () => {
    const deleting: DatabaseEvent = { type: 'DatabaseDeletionStarted', data: { databaseId, at } };
    const failed: DatabaseEvent = { type: 'DatabaseFailed', data: { databaseId, reason: 'x', at } };
    for (const history of [[created], [created, running, deleting], [created, failed]]) {
      expect(decideDatabase(restart, given(...history))).toEqual([]);
      expect(decideDatabase(lost, given(...history))).toEqual([]);
    }
  });
});
