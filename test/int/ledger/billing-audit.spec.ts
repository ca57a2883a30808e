import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_STORE, type EventStore } from '../../../src/eventstore/event-store';
import { comparePositions } from '../../../src/kernel/position';
import { Clock } from '../../../src/platform/clock';
import { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { PG_POOL } from '../../../src/platform/tokens';
import type { Pool } from 'pg';
import type { TestApp } from '../../support/app';
import { startLedgerApp } from './app';
import { centsHalfEven, generateHistory, withOpenUsage, type GeneratedHistory } from './history';
import { signUp, type LedgerAccount } from './accounts';

const LEDGER_PROJECTIONS = ['billing.usage', 'audit.log'];
const START = Date.UTC(2026, 1, 20) / 1000; // 2026-02-20
const END = Date.UTC(2026, 2, 28) / 1000; // 2026-03-28
const NOW = new Date(Date.UTC(2026, 2, 31, 12)); // the clock during the reads

describe('billing and audit read models over a generated month of history', () => {
  let t: TestApp;
  let store: EventStore;
  let history: GeneratedHistory;
  let accounts: LedgerAccount[] = [];
  let tenants: string[] = [];

  async function caughtUp(): Promise<void> {
    // The history's own last append: the readable head can trail it on a shared server.
    const readable = await store.headPosition();
    const appended = history?.lastPosition ?? null;
    const head =
      readable && appended
        ? comparePositions(readable, appended) > 0
          ? readable
          : appended
        : (readable ?? appended);
    if (!head) return;
    const ok = await t.app.get(ProjectionWaiter).waitFor(head, LEDGER_PROJECTIONS, 60_000);
    expect(ok).toBe(true);
  }

  /**
   * Events appended after the generated history, as `type stream occurredAt`. None: every
   * response compared here must come from the history alone (see startLedgerApp).
   */
  async function appendedAfterHistory(): Promise<string[]> {
    const events = await store.readAll({ after: history.lastPosition, maxCount: 20 });
    return events.map((e) => `${e.type} ${e.streamId} ${e.metadata.occurredAt}`);
  }

  async function get(url: string, tenant: string): Promise<{ status: number; body: unknown }> {
    const account = accounts.find((a) => a.tenantId === tenant) as LedgerAccount;
    const res = await t.inject({ method: 'GET', url, headers: account.headers });
    return { status: res.statusCode, body: res.json() };
  }

  /** Every billing and audit response of both tenants, paging through with cursors. */
  async function snapshot(): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const tenant of tenants) {
      for (const period of ['2026-01', '2026-02', '2026-03', '2026-04']) {
        out.push(await get(`/billing/summary?period=${period}`, tenant));
        let url = `/billing/usage?period=${period}&envelope=true&limit=200`;
        for (;;) {
          const page = await get(url, tenant);
          out.push(page);
          const next = (page.body as { page: { next_cursor: string | null } }).page.next_cursor;
          if (!next) break;
          url = `/billing/usage?period=${period}&limit=200&cursor=${next}`;
        }
      }
      let url = '/audit?envelope=true&limit=200';
      for (;;) {
        const page = await get(url, tenant);
        out.push(page);
        const next = (page.body as { page: { next_cursor: string | null } }).page.next_cursor;
        if (!next) break;
        url = `/audit?limit=200&cursor=${next}`;
      }
      out.push(await get('/audit?status=success&action=INSTANCE_LAUNCH&limit=5', tenant));
    }
    return out;
  }

  beforeAll(async () => {
    t = await startLedgerApp('ledger');
    accounts = [await signUp(t, 'alpha'), await signUp(t, 'beta')];
    tenants = accounts.map((a) => a.tenantId);
    t.app.get(Clock).set(NOW);
    store = t.app.get<EventStore>(EVENT_STORE);
    history = await generateHistory(store, {
      tenants,
      instancesPerTenant: 40,
      volumesPerTenant: 20,
      users: Object.fromEntries(accounts.map((a) => [a.tenantId, a.userId])),
      start: START,
      end: END,
      operationsPerInstance: 30,
      leaveOpen: 0.25,
      seed: 7,
    });
    await caughtUp();
  }, 180_000);

  afterAll(async () => {
    await t?.close();
  });

  it('generated thousands of events', () => {
    expect(history.events).toBeGreaterThan(2000);
  });

  it('bills each tenant and period exactly as an independent tally of the history', async () => {
    expect(await appendedAfterHistory()).toEqual([]);
    const expected = withOpenUsage(history, Math.floor(NOW.getTime() / 1000));
    for (const tenant of tenants) {
      for (const period of ['2026-02', '2026-03', '2026-04']) {
        const { status, body } = await get(`/billing/summary?period=${period}`, tenant);
        expect(status).toBe(200);
        const e = expected.get(tenant)?.get(period) ?? { compute: 0n, storage: 0n };
        const summary = body as { total_amount: number; usage_by_type: Record<string, number> };
        expect(summary.total_amount.toFixed(2)).toBe(
          (Number(centsHalfEven(e.compute + e.storage)) / 100).toFixed(2),
        );
        const byType = summary.usage_by_type;
        expect(Math.round((byType.compute + byType.storage + byType.network) * 100)).toBe(
          Math.round(summary.total_amount * 100),
        );
        // Each type is within a cent of its own exact amount (largest-remainder apportioning).
        expect(
          Math.abs(byType.compute * 100 - Number(centsHalfEven(e.compute))),
        ).toBeLessThanOrEqual(1);
      }
    }
    const march = await get('/billing/summary?period=2026-03', tenants[0]);
    expect(march.body).toMatchObject({
      period_start: '2026-03-01T00:00:00Z',
      period_end: '2026-03-31T23:59:59Z',
      currency: 'USD',
    });
  });

  it('splits usage at the month boundary and sums the usage records to the summary', async () => {
    const tenant = tenants[0];
    const items: Array<{ start: string; end: string; amount: number }> = [];
    let url = '/billing/usage?period=2026-03&envelope=true&limit=100';
    for (;;) {
      const page = (await get(url, tenant)).body as {
        items: typeof items;
        page: { next_cursor: string | null };
      };
      items.push(...page.items);
      if (!page.page.next_cursor) break;
      url = `/billing/usage?period=2026-03&limit=100&cursor=${page.page.next_cursor}`;
    }
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item.start >= '2026-03-01T00:00:00Z').toBe(true);
      expect(item.end <= '2026-04-01T00:00:00Z').toBe(true);
    }
    expect(items.some((i) => i.start === '2026-03-01T00:00:00Z')).toBe(true);
    const summary = (await get('/billing/summary?period=2026-03', tenant)).body as {
      total_amount: number;
    };
    const sum = items.reduce((s, i) => s + Math.round(i.amount * 100), 0);
    // Per-record rounding drifts from the once-rounded total by at most half a cent per record.
    expect(Math.abs(sum - Math.round(summary.total_amount * 100))).toBeLessThanOrEqual(
      Math.ceil(items.length / 2),
    );
  });

  it('filters usage by resource and type, and rejects bad parameters', async () => {
    const tenant = tenants[1];
    const all = (await get('/billing/usage?period=2026-03&limit=200', tenant)).body as Array<{
      resource_id: string;
      resource_type: string;
    }>;
    const one = all[0].resource_id;
    const only = (await get(`/billing/usage?period=2026-03&resource_id=${one}`, tenant))
      .body as Array<{ resource_id: string }>;
    expect(only.length).toBeGreaterThan(0);
    expect(only.every((r) => r.resource_id === one)).toBe(true);
    const storage = (await get('/billing/usage?period=2026-03&resource_type=storage', tenant))
      .body as Array<{ resource_type: string }>;
    expect(storage.every((r) => r.resource_type === 'storage')).toBe(true);
    expect((await get('/billing/usage?period=2026-13', tenant)).status).toBe(400);
    expect((await get('/billing/usage?resource_type=gpu', tenant)).status).toBe(400);
    expect((await get('/audit?status=maybe', tenant)).status).toBe(400);
    // Another tenant's resource is simply absent.
    const foreign = (await get(`/billing/usage?period=2026-03&resource_id=${one}`, tenants[0]))
      .body as unknown[];
    expect(foreign).toEqual([]);
  });

  it('lists the audit log newest first with filters, and the action catalog', async () => {
    const tenant = tenants[0];
    const rows = (await get('/audit?limit=50', tenant)).body as Array<{
      timestamp: string;
      action: string;
      status: string;
      resource: string;
    }>;
    expect(rows).toHaveLength(50);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i - 1].timestamp >= rows[i].timestamp).toBe(true);
    }
    const launches = (await get('/audit?action=INSTANCE_LAUNCH&limit=200', tenant)).body as Array<{
      action: string;
      resource: string;
    }>;
    expect(launches).toHaveLength(40);
    expect(launches.every((r) => r.resource.startsWith('instance/'))).toBe(true);
    // The actor reads as the user's email (decrypted with their data key).
    expect(launches.every((r) => (r as { actor?: string }).actor === accounts[0].email)).toBe(true);
    const byActor = (
      await get(`/audit?actor=${encodeURIComponent(accounts[0].email)}&limit=200`, tenant)
    ).body as unknown[];
    expect(byActor.length).toBeGreaterThan(40);
    const windowed = (
      await get('/audit?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&limit=200', tenant)
    ).body as Array<{ timestamp: string }>;
    expect(
      windowed.every((r) => r.timestamp >= '2026-03-01T00:00:00' && r.timestamp < '2026-03-02'),
    ).toBe(true);
    const catalog = (await get('/audit/actions', tenant)).body as Array<{ action: string }>;
    expect(catalog.map((a) => a.action)).toContain('INSTANCE_LAUNCH');
    // No route edits or deletes the log.
    const del = await t.inject({
      method: 'DELETE',
      url: `/audit`,
      headers: accounts[0].headers,
    });
    expect([404, 405]).toContain(del.statusCode);
  });

  it('drops the billing and audit read models, rebuilds them from the log: identical responses', async () => {
    const before = await snapshot();
    const runtime = t.app.get(ProjectionRuntime);
    await runtime.stop();
    const pool = t.app.get<Pool>(PG_POOL);
    await pool.query('DROP TABLE billing_meters, billing_usage, audit_log');
    for (const name of LEDGER_PROJECTIONS) {
      const result = await runtime.rebuild(name);
      expect(result.mode).toBe('local');
      expect(result.eventsRead).toBeGreaterThanOrEqual(history.events);
    }
    await runtime.start();
    await caughtUp();
    const after = await snapshot();
    expect(await appendedAfterHistory()).toEqual([]);
    expect(after).toEqual(before);
    expect(JSON.stringify(after)).toBe(JSON.stringify(before));
  }, 120_000);
});
