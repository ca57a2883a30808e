import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_STORE, type EventStore } from '../../../src/eventstore/event-store';
import { Clock } from '../../../src/platform/clock';
import { verifyTimelineText } from '../../../src/timeline/domain';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import type { TestApp } from '../../support/app';
import { startLedgerApp } from './app';
import { signUp, type LedgerAccount } from './accounts';
import { generateHistory } from './history';

describe('data-subject requests', () => {
  let t: TestApp;
  let owner: LedgerAccount;
  let person: LedgerAccount;
  let asPersonInTenant: Record<string, string>;

  const get = async (url: string, headers: Record<string, string>) =>
    t.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    t = await startLedgerApp('ledger_privacy');
    t.app.get(Clock).set(new Date('2026-07-01T00:00:00Z'));
    owner = await signUp(t, 'dsar-owner');
    person = await signUp(t, 'dsar-person');
    const added = await t.inject({
      method: 'POST',
      url: `/tenants/${owner.tenantId}/members`,
      headers: owner.headers,
      payload: { user_id: person.userId, role: 'admin' },
    });
    expect(added.statusCode, added.body).toBe(201);
    asPersonInTenant = { ...person.headers, 'x-tenant-id': owner.tenantId };
    const store = t.app.get<EventStore>(EVENT_STORE);
    const history = await generateHistory(store, {
      tenants: [owner.tenantId],
      users: { [owner.tenantId]: person.userId },
      instancesPerTenant: 5,
      volumesPerTenant: 2,
      start: Date.UTC(2026, 5, 2) / 1000,
      end: Date.UTC(2026, 5, 28) / 1000,
      operationsPerInstance: 5,
      seed: 5,
    });
    // The history's own last append: the readable head can trail it on a shared server.
    if (history.lastPosition) {
      const ok = await t.app
        .get(ProjectionWaiter)
        .waitFor(history.lastPosition, ['billing.usage', 'audit.log'], 30_000);
      expect(ok).toBe(true);
    }
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('exports everything held about the caller', async () => {
    const res = await get('/me/export', asPersonInTenant);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      profile: { id: string; email: string; name: string };
      memberships: Array<{ tenant_id: string; role: string }>;
      api_keys: Array<{ id: string; prefix: string }>;
      audit_entries: Array<{ action: string; tenant_id: string }>;
    }>();
    expect(body.profile).toMatchObject({
      id: person.userId,
      email: person.email,
      name: 'Ledger dsar-person',
    });
    expect(body.memberships.map((m) => m.tenant_id).sort()).toEqual(
      [person.tenantId, owner.tenantId].sort(),
    );
    expect(body.api_keys.length).toBeGreaterThanOrEqual(1);
    expect(res.body).not.toMatch(/key_hash|keyHash|password/);
    expect(body.audit_entries.filter((e) => e.action === 'INSTANCE_LAUNCH')).toHaveLength(5);
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="nimbus-personal-data-/,
    );
  });

  it('erases the person: [erased] everywhere, bills and audit totals intact, timeline still verifies', async () => {
    const summaryBefore = (await get('/billing/summary?period=2026-06', owner.headers)).json();
    const auditBefore = (await get('/audit?limit=200', owner.headers)).json<
      Array<{ id: string; actor: string }>
    >();
    expect(auditBefore.some((r) => r.actor === person.email)).toBe(true);

    const del = await t.inject({ method: 'POST', url: '/me/delete', headers: person.headers });
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json()).toEqual({ user_id: person.userId, status: 'erased' });
    expect((await get('/me/export', person.headers)).statusCode).toBe(401);

    expect((await get('/billing/summary?period=2026-06', owner.headers)).json()).toEqual(
      summaryBefore,
    );
    const auditAfter = (await get('/audit?limit=200', owner.headers)).json<
      Array<{ id: string; actor: string }>
    >();
    expect(auditAfter.map((r) => r.id)).toEqual(auditBefore.map((r) => r.id));
    expect(auditAfter.some((r) => r.actor === '[erased]')).toBe(true);
    expect(JSON.stringify(auditAfter)).not.toContain(person.email);

    const timeline = await get(`/tenants/${owner.tenantId}/timeline`, owner.headers);
    expect(timeline.statusCode).toBe(200);
    expect(timeline.body).toContain('[erased]');
    expect(timeline.body).not.toContain(person.email);
    const key = (await get('/.well-known/nimbus-timeline-key', {})).json<{
      public_key_pem: string;
    }>();
    expect(verifyTimelineText(timeline.body, key.public_key_pem).ok).toBe(true);
  });
});
