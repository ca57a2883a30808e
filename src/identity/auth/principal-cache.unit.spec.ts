import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../eventstore/event-store';
import { ProjectionProgress } from '../../../projections/runtime/progress';
import type { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import type { IdentityReadModel, UserRow } from '../read-model/identity-read-model';
import { PrincipalCache } from './principal-cache';

function user(id: string, sessionVersion: number): UserRow {
  return { id, session_version: sessionVersion } as UserRow;
}

function setup() {
  const rows = new Map<string, UserRow>([['u1', user('u1', 1)]]);
  let queries = 0;
  let gate: Promise<void> = Promise.resolve();
  const readModel = {
    user: async (id: string) => {
      queries++;
      await gate;
      return rows.get(id) ?? null;
    },
    attachedPolicies: async () => {
      queries++;
      return [];
    },
  } as unknown as IdentityReadModel;
  const running = new Set(['identity.users', 'identity.policies']);
  const progress = new ProjectionProgress();
  const runtime = {
    progress,
    runner: (name: string) => ({ state: running.has(name) ? 'running' : 'stopped' }),
  } as unknown as ProjectionRuntime;
  const cache = new PrincipalCache(readModel, runtime);
  return {
    cache,
    rows,
    progress,
    running,
    queries: () => queries,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return release;
    },
  };
}

const event = (type: string) => ({ type }) as RecordedEvent;

describe('PrincipalCache', () => {
  it('given a running users projection, when a user is asked for twice, then it is read once', async () => {
    const t = setup();
    expect(await t.cache.user('u1')).toMatchObject({ session_version: 1 });
    expect(await t.cache.user('u1')).toMatchObject({ session_version: 1 });
    expect(t.queries()).toBe(1);
  });

  it('given a cached user, when the users projection commits a batch, then the next ask reads the new row', async () => {
    const t = setup();
    await t.cache.user('u1');
    t.rows.set('u1', user('u1', 2));
    t.progress.publishChange({ name: 'identity.users', events: [event('SessionsRevoked')] });
    expect(await t.cache.user('u1')).toMatchObject({ session_version: 2 });
  });

  it('given a load in flight, when entries are dropped meanwhile, then its result is not kept', async () => {
    const t = setup();
    const release = t.hold();
    const pending = t.cache.user('u1');
    t.rows.set('u1', user('u1', 2));
    t.progress.publishChange({ name: 'identity.users', events: 'unknown' });
    release();
    await pending;
    expect(await t.cache.user('u1')).toMatchObject({ session_version: 2 });
  });

  it('given the users projection runs elsewhere, then every ask reads the read model', async () => {
    const t = setup();
    t.running.delete('identity.users');
    await t.cache.user('u1');
    await t.cache.user('u1');
    expect(t.queries()).toBe(2);
  });

  it('keeps attachments across policy creations and drops them on any other policy event', async () => {
    const t = setup();
    await t.cache.attachedPolicies('u1', 't1');
    t.progress.publishChange({ name: 'identity.policies', events: [event('PolicyCreated')] });
    await t.cache.attachedPolicies('u1', 't1');
    expect(t.queries()).toBe(1);
    t.progress.publishChange({
      name: 'identity.policies',
      events: [event('PolicyCreated'), event('PolicyAttachedToUser')],
    });
    await t.cache.attachedPolicies('u1', 't1');
    expect(t.queries()).toBe(2);
  });

  it('does not keep a user that does not exist', async () => {
    const t = setup();
    expect(await t.cache.user('nobody')).toBeNull();
    await t.cache.user('nobody');
    expect(t.queries()).toBe(2);
  });
});
