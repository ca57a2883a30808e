import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../eventstore/event-store';
import { ProjectionProgress } from '../../../../projections/runtime/progress';
import type { ProjectionRuntime } from '../../../../projections/runtime/projection-runtime';
import type { IdentityReadModel } from '../../read-model/identity-read-model';
import { PolicyNames } from './policy-names';

const POLICIES = 'identity.policies';

function setup() {
  const rows = new Map<string, string[]>([['t1', ['admins']]]);
  let queries = 0;
  let gate: Promise<void> = Promise.resolve();
  const readModel = {
    policyNames: async (tenantId: string) => {
      queries++;
      await gate;
      return [...(rows.get(tenantId) ?? [])];
    },
    policyByName: async (tenantId: string, name: string) => {
      queries++;
      return rows.get(tenantId)?.includes(name) ? { name } : null;
    },
  } as unknown as IdentityReadModel;
  const running = new Set([POLICIES]);
  const progress = new ProjectionProgress();
  const runtime = {
    progress,
    runner: (name: string) => ({ state: running.has(name) ? 'running' : 'stopped' }),
  } as unknown as ProjectionRuntime;
  return {
    names: new PolicyNames(readModel, runtime),
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

const created = (tenantId: string, name: string) =>
  ({ type: 'PolicyCreated', data: { tenantId, name } }) as unknown as RecordedEvent;
const deleted = (tenantId: string) =>
  ({ type: 'PolicyDeleted', data: { tenantId } }) as unknown as RecordedEvent;

describe('PolicyNames', () => {
  it('given a running policies projection, when names of a tenant are asked twice, then they are read once', async () => {
    const t = setup();
    expect(await t.names.isTaken('t1', 'admins')).toBe(true);
    expect(await t.names.isTaken('t1', 'readers')).toBe(false);
    expect(t.queries()).toBe(1);
  });

  it('given kept names, when the projection commits a PolicyCreated, then the name is taken without a query', async () => {
    const t = setup();
    await t.names.isTaken('t1', 'x');
    t.progress.publishChange({ name: POLICIES, events: [created('t1', 'readers')] });
    expect(await t.names.isTaken('t1', 'readers')).toBe(true);
    expect(t.queries()).toBe(1);
  });

  it('given kept names, when a policy of the tenant is deleted, then the names are read again', async () => {
    const t = setup();
    await t.names.isTaken('t1', 'admins');
    t.rows.set('t1', []);
    t.progress.publishChange({ name: POLICIES, events: [deleted('t1')] });
    expect(await t.names.isTaken('t1', 'admins')).toBe(false);
    expect(t.queries()).toBe(2);
  });

  it('given a load in flight, when a change of its tenant commits, then the load is used once and not kept', async () => {
    const t = setup();
    const release = t.hold();
    const asked = t.names.isTaken('t1', 'readers');
    t.rows.set('t1', ['admins', 'readers']);
    t.progress.publishChange({ name: POLICIES, events: [created('t1', 'readers')] });
    release();
    // The load may have read before the change; the next ask reads again.
    await asked;
    expect(await t.names.isTaken('t1', 'readers')).toBe(true);
    expect(t.queries()).toBe(2);
  });

  it('given the projection runs elsewhere, then every ask reads the read model', async () => {
    const t = setup();
    t.running.clear();
    expect(await t.names.isTaken('t1', 'admins')).toBe(true);
    expect(await t.names.isTaken('t1', 'admins')).toBe(true);
    expect(t.queries()).toBe(2);
  });

  it('given kept names, when the runner restarts (unknown change), then every tenant is read again', async () => {
    const t = setup();
    await t.names.isTaken('t1', 'admins');
    t.rows.set('t1', []);
    t.progress.publishChange({ name: POLICIES, events: 'unknown' });
    expect(await t.names.isTaken('t1', 'admins')).toBe(false);
  });
});
