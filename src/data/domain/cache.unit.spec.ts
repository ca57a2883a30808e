import { describe, expect, it } from 'vitest';

import { AppError } from '../../common/errors/app-error';
import {
  decideCache,
  evolveCache,
  initialCacheState,
  type CacheCommand,
  type CacheEvent,
  type CacheState,
} from './cache';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const cacheId = '11111111-1111-5111-8111-111111111111';
const tenantId = '22222222-2222-4222-8222-222222222222';
const endpoint = { host: '127.0.0.1', port: 27001 };

const create: CacheCommand = {
  type: 'CreateCache',
  cacheId,
  tenantId,
  name: 'sessions',
  memoryMb: 64,
  now,
};
const created: CacheEvent = {
  type: 'CacheCreated',
  data: { cacheId, tenantId, name: 'sessions', memoryMb: 64, at },
};
const running: CacheEvent = { type: 'CacheRunning', data: { cacheId, endpoint, at } };
const deleting: CacheEvent = { type: 'CacheDeletionStarted', data: { cacheId, at } };

function given(...events: CacheEvent[]): CacheState {
  return events.reduce(evolveCache, initialCacheState());
}
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return 'no error';
}

describe('cache decider', () => {
  it('creates CREATING with its memory', () => {
    expect(decideCache(create, given())).toEqual([created]);
    expect(given(created)).toMatchObject({ status: 'CREATING', memoryMb: 64, name: 'sessions' });
  });

  it('rejects a bad name or memory size (400) and a second create (409)', () => {
    expect(codeOf(() => decideCache({ ...create, name: 'Bad_Name' }, given()))).toBe(
      'validation_error',
    );
    expect(codeOf(() => decideCache({ ...create, memoryMb: 8 }, given()))).toBe('validation_error');
    expect(codeOf(() => decideCache({ ...create, memoryMb: 64.5 }, given()))).toBe(
      'validation_error',
    );
    expect(codeOf(() => decideCache({ ...create, memoryMb: 1 << 20 }, given()))).toBe(
      'validation_error',
    );
    expect(codeOf(() => decideCache(create, given(created)))).toBe('conflict');
  });

  it('records RUNNING once (a repeat is a no-op) and flushes only then', () => {
    expect(codeOf(() => decideCache({ type: 'FlushCache', now }, given(created)))).toBe(
      'invalid_state',
    );
    expect(decideCache({ type: 'RecordCacheRunning', endpoint, now }, given(created))).toEqual([
      running,
    ]);
    expect(
      decideCache({ type: 'RecordCacheRunning', endpoint, now }, given(created, running)),
    ).toEqual([]);
    expect(decideCache({ type: 'FlushCache', now }, given(created, running))).toEqual([
      { type: 'CacheFlushed', data: { cacheId, at } },
    ]);
  });

  it('fails a CREATING cache; a deletion wins over a late RUNNING', () => {
    const failed = decideCache(
      { type: 'RecordCacheFailed', reason: 'no image', now },
      given(created),
    );
    expect(given(created, ...failed)).toMatchObject({
      status: 'FAILED',
      failureReason: 'no image',
    });
    expect(
      codeOf(() =>
        decideCache({ type: 'RecordCacheRunning', endpoint, now }, given(created, deleting)),
      ),
    ).toBe('invalid_state');
    expect(
      decideCache({ type: 'RecordCacheFailed', reason: 'x', now }, given(created, deleting)),
    ).toEqual([]);
  });

  it('records a drifted RUNNING cache STOPPED, and RUNNING again', () => {
    const stopped = decideCache(
      { type: 'RecordCacheStopped', reason: 'container exited', now },
      given(created, running),
    );
    expect(given(created, running, ...stopped).status).toBe('STOPPED');
    expect(decideCache({ type: 'RecordCacheStopped', reason: 'x', now }, given(created))).toEqual(
      [],
    );
    expect(
      decideCache(
        { type: 'RecordCacheRunning', endpoint, now },
        given(created, running, ...stopped),
      ),
    ).toEqual([running]);
  });

  it('deletes: DELETING (idempotent), then gone (idempotent), then 404', () => {
    expect(decideCache({ type: 'DeleteCache', now }, given(created, running))).toEqual([deleting]);
    expect(decideCache({ type: 'DeleteCache', now }, given(created, running, deleting))).toEqual(
      [],
    );
    const deleted = decideCache({ type: 'RecordCacheDeleted', now }, given(created, deleting));
    const gone = given(created, deleting, ...deleted);
    expect(gone.status).toBe('deleted');
    expect(decideCache({ type: 'RecordCacheDeleted', now }, gone)).toEqual([]);
    expect(codeOf(() => decideCache({ type: 'DeleteCache', now }, gone))).toBe('not_found');
    expect(codeOf(() => decideCache({ type: 'RecordCacheDeleted', now }, given(created)))).toBe(
      'invalid_state',
    );
  });
});

describe('cache decider: drift found by the reconciler', () => {
  const restart: CacheCommand = { type: 'RecordCacheEngineRestarted', reason: 'exited', now };
  const lost: CacheCommand = { type: 'RecordCacheEngineLost', reason: 'removed', now };

  it('given RUNNING, when the exited container was restarted, then the restart is recorded and it stays RUNNING', () => {
    const events = decideCache(restart, given(created, running));
    expect(events).toEqual([
      { type: 'CacheEngineRestarted', data: { cacheId, reason: 'exited', at } },
    ]);
    expect(given(created, running, ...events)).toMatchObject({
      status: 'RUNNING',
      endpoint,
      engineRestarts: 1,
    });
  });

  it('given RUNNING or STOPPED, when the container is lost, then it is FAILED with the reason', () => {
    const stopped: CacheEvent = { type: 'CacheStopped', data: { cacheId, reason: 'x', at } };
    for (const history of [
      [created, running],
      [created, running, stopped],
    ]) {
      const events = decideCache(lost, given(...history));
      expect(events).toEqual([
        { type: 'CacheEngineLost', data: { cacheId, reason: 'removed', at } },
      ]);
      expect(given(...history, ...events)).toMatchObject({
        status: 'FAILED',
        failureReason: 'removed',
      });
    }
  });

  it('given CREATING, DELETING or FAILED (a saga owns it, or nothing runs), when drift is reported, then nothing is recorded', () => {
    const failed: CacheEvent = { type: 'CacheFailed', data: { cacheId, reason: 'x', at } };
    for (const history of [[created], [created, running, deleting], [created, failed]]) {
      expect(decideCache(restart, given(...history))).toEqual([]);
      expect(decideCache(lost, given(...history))).toEqual([]);
    }
  });

  it('given a lost cache, when it is deleted, then the delete proceeds', () => {
    const lostEvent: CacheEvent = {
      type: 'CacheEngineLost',
      data: { cacheId, reason: 'removed', at },
    };
    expect(decideCache({ type: 'DeleteCache', now }, given(created, running, lostEvent))).toEqual([
      deleting,
    ]);
  });
});
