/**
 * Price changes on real PostgreSQL through the real routes: PUT /admin/prices/:sku (operators),
 * GET /billing/prices, and the billing meter splitting a volume's usage exactly at the change.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { knownSkus } from '../../../src/billing/domain/price-catalog';
import { PricingService } from '../../../src/billing/pricing/pricing.service';
import {
  EVENT_STORE,
  type EventMetadata,
  type EventStore,
} from '../../../src/eventstore/event-store';
import type { Position } from '../../../src/kernel/position';
import { Clock } from '../../../src/platform/clock';
import { PG_POOL } from '../../../src/platform/tokens';
import { startTestApp, type TestApp } from '../../support/app';
import { signUp, type LedgerAccount } from './accounts';

const CATALOG_STREAM = 'pricing-catalog-global';
const HOUR = 3600;

interface UsageRecord {
  resource_id: string;
  unit_price: number;
  amount: number;
  quantity: number;
  start: string;
  end: string;
}

describe('price changes: catalog routes and billing across a change', () => {
  let t: TestApp;
  let store: EventStore;
  let operator: LedgerAccount;
  let member: LedgerAccount;
  const operatorEmail = `ops-${randomUUID().slice(0, 8)}@example.com`;

  // whole hours so every amount is exact: created 5 h before the change, read 3 h after it
  const nowSec = Math.floor(Date.now() / 1000);
  const effectiveAt = (Math.floor(nowSec / HOUR) + 2) * HOUR;
  const createdAt = effectiveAt - 5 * HOUR;
  const volumeId = randomUUID();
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  const periodOf = (s: number) => iso(s).slice(0, 7);

  async function caughtUp(position: Position): Promise<void> {
    const ok = await t.app.get(ProjectionWaiter).waitFor(position, ['billing.usage'], 60_000);
    expect(ok).toBe(true);
  }

  async function catalogRevision(): Promise<number> {
    return (await store.readStream(CATALOG_STREAM)).length;
  }

  async function lastCatalogPosition(): Promise<Position> {
    const events = await store.readStream(CATALOG_STREAM);
    return events[events.length - 1].position;
  }

  function meta(atSec: number): EventMetadata {
    return {
      tenantId: member.tenantId,
      actor: { type: 'user', id: member.userId },
      correlationId: randomUUID(),
      causationId: null,
      requestId: null,
      sourceIp: null,
      occurredAt: iso(atSec),
      schemaVersion: 1,
    };
  }

  async function get<T>(url: string, who: LedgerAccount): Promise<{ status: number; body: T }> {
    // The session key, not the 15-minute access token: the test moves the app's one Clock by hours.
    const res = await t.inject({ method: 'GET', url, headers: who.apiKeyHeaders });
    return { status: res.statusCode, body: res.json<T>() };
  }

  async function volumeUsage(): Promise<UsageRecord[]> {
    const periods = [...new Set([periodOf(createdAt), periodOf(effectiveAt + 3 * HOUR - 1)])];
    const out: UsageRecord[] = [];
    for (const period of periods) {
      const res = await get<UsageRecord[]>(
        `/billing/usage?period=${period}&resource_id=${volumeId}`,
        member,
      );
      expect(res.status).toBe(200);
      out.push(...res.body);
    }
    return out;
  }

  /** Every billing response the change touches, for the rebuild comparison. */
  async function snapshot(): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const period of new Set([periodOf(createdAt), periodOf(effectiveAt)])) {
      out.push(await get(`/billing/summary?period=${period}`, member));
      out.push(await get(`/billing/usage?period=${period}`, member));
    }
    out.push(await get('/billing/prices', member));
    return out;
  }

  const put = (sku: string, payload: unknown, who: LedgerAccount) =>
    t.inject({
      method: 'PUT',
      url: `/admin/prices/${encodeURIComponent(sku)}`,
      headers: { ...who.headers, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });

  beforeAll(async () => {
    t = await startTestApp({
      label: 'pricing',
      listen: false,
      config: { authRateLimitPerMinute: 1000, operatorEmails: [operatorEmail] },
    });
    operator = await signUpAs(t, operatorEmail);
    member = await signUp(t, 'member');
    store = t.app.get<EventStore>(EVENT_STORE);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('writes the initial catalog once at start-up: a restart appends nothing', async () => {
    const events = await store.readStream(CATALOG_STREAM);
    expect(events.map((e) => (e.data as { sku: string }).sku).sort()).toEqual(
      knownSkus()
        .map((s) => s.sku)
        .sort(),
    );
    await t.app.get(PricingService).onApplicationBootstrap();
    expect(await catalogRevision()).toBe(events.length);

    const res = await get<{ prices: Array<{ sku: string; unit_price: number; unit: string }> }>(
      '/billing/prices',
      member,
    );
    expect(res.status).toBe(200);
    expect(res.body.prices).toContainEqual(
      expect.objectContaining({ sku: 'storage:gb', unit: 'GB-hour', unit_price: 0.00014 }),
    );
    expect(res.body.prices).toContainEqual(
      expect.objectContaining({ sku: 'instance:basic-2', unit_price: 0.02 }),
    );
  });

  it('a non-operator cannot set a price, and nothing is appended', async () => {
    const before = await catalogRevision();
    const res = await put('storage:gb', { unit_price: '0.0002' }, member);
    expect([403, 404]).toContain(res.statusCode);
    expect(await catalogRevision()).toBe(before);
  });

  it('bad input is 400 with the field path (or 404 for an unknown SKU) and appends nothing', async () => {
    const before = await catalogRevision();
    const cases: Array<[unknown, string]> = [
      [{}, 'unit_price'],
      [{ unit_price: '-1' }, 'unit_price'],
      [{ unit_price: '0.0000001' }, 'unit_price'],
      [{ unit_price: 'abc' }, 'unit_price'],
      [{ unit_price: 1e-7 }, 'unit_price'],
      [{ unit_price: true }, 'unit_price'],
      [{ unit_price: '0.0002', effective_at: 'tomorrow' }, 'effective_at'],
      [{ unit_price: '0.0002', effective_at: '2020-01-01T00:00:00Z' }, 'effective_at'],
      [{ unit_price: '0.0002', surprise: 1 }, 'surprise'],
    ];
    for (const [payload, path] of cases) {
      const res = await put('storage:gb', payload, operator);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const body = res.json<{
        error: { code: string; details: { fields: Array<{ path: string }> } };
      }>();
      expect(body.error.code).toBe('validation_error');
      expect(body.error.details.fields.map((f) => f.path)).toContain(path);
    }
    const unknown = await put('instance:no-such-type', { unit_price: '1' }, operator);
    expect(unknown.statusCode).toBe(404);
    expect(await catalogRevision()).toBe(before);
  });

  it('bills a volume at the old price up to effectiveAt and at the new one after', async () => {
    const created = await store.append(
      `volume-${volumeId}`,
      [
        {
          id: randomUUID(),
          type: 'VolumeCreated',
          data: {
            volumeId,
            tenantId: member.tenantId,
            name: 'data',
            sizeGb: 100,
            at: iso(createdAt),
          },
          metadata: meta(createdAt),
        },
      ],
      'no_stream',
    );
    const res = await put(
      'storage:gb',
      { unit_price: '0.0002', effective_at: iso(effectiveAt), reason: 'disks cost more' },
      operator,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      sku: 'storage:gb',
      unit: 'GB-hour',
      unit_price: 0.0002,
      unit_price_exact: '0.000200',
      effective_at: iso(effectiveAt),
      reason: 'disks cost more',
    });
    await caughtUp(created.position);
    await caughtUp(await lastCatalogPosition());

    const clock = t.app.get(Clock);
    // before the change takes effect: scheduled, not in force, nothing billed at the new price
    clock.set(new Date((effectiveAt - HOUR) * 1000));
    const early = await get<{
      prices: Array<{ sku: string; unit_price: number }>;
      scheduled: Array<{ sku: string; effective_at: string }>;
    }>('/billing/prices', member);
    expect(early.body.prices).toContainEqual(
      expect.objectContaining({ sku: 'storage:gb', unit_price: 0.00014 }),
    );
    expect(early.body.scheduled).toEqual([
      expect.objectContaining({ sku: 'storage:gb', effective_at: iso(effectiveAt) }),
    ]);
    expect((await volumeUsage()).map((u) => [u.unit_price, u.start, u.end])).toEqual(
      splitByMonth(createdAt, effectiveAt - HOUR).map(([s, e]) => [0.00014, iso(s), iso(e)]),
    );

    // three hours after it: 5 h at 140 micro-USD and 3 h at 200, 100 GB, split at effectiveAt
    clock.set(new Date((effectiveAt + 3 * HOUR) * 1000));
    const open = await volumeUsage();
    expectSplit(open, effectiveAt + 3 * HOUR);

    // the volume is deleted after the change: the projection writes the same split for the past
    const deletedAt = effectiveAt + 3 * HOUR;
    const deleted = await store.append(
      `volume-${volumeId}`,
      [
        {
          id: randomUUID(),
          type: 'VolumeDeleted',
          data: { volumeId, sizeGb: 100, at: iso(deletedAt) },
          metadata: meta(deletedAt),
        },
      ],
      0n,
    );
    await caughtUp(deleted.position);
    clock.set(new Date((effectiveAt + 10 * HOUR) * 1000));
    const closed = await volumeUsage();
    expect(closed).toEqual(open);
    const pool = t.app.get<Pool>(PG_POOL);
    const rows = await pool.query<{ unit_price: string; start_at: string; end_at: string }>(
      `SELECT unit_price::text, start_at::text, end_at::text FROM billing_usage
        WHERE resource_id = $1 ORDER BY start_at`,
      [volumeId],
    );
    expect(rows.rows.some((r) => Number(r.end_at) === effectiveAt)).toBe(true);
    expect(
      rows.rows.some((r) => Number(r.start_at) === effectiveAt && r.unit_price === '200'),
    ).toBe(true);
  });

  it('a rebuild of the billing projection gives identical responses', async () => {
    const before = await snapshot();
    const runtime = t.app.get(ProjectionRuntime);
    await runtime.stop();
    const pool = t.app.get<Pool>(PG_POOL);
    await pool.query('DROP TABLE billing_meters, billing_usage, billing_prices');
    const result = await runtime.rebuild('billing.usage');
    expect(result.mode).toBe('local');
    await runtime.start();
    await caughtUp(await lastCatalogPosition());
    expect(await snapshot()).toEqual(before);
  });
});

async function signUpAs(t: TestApp, email: string): Promise<LedgerAccount> {
  const password = 'correct-horse-7-battery';
  const reg = await t.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password, name: 'Operator' },
  });
  expect(reg.statusCode, reg.body).toBe(201);
  const login = await t.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
  });
  expect(login.statusCode, login.body).toBe(200);
  const headers = {
    authorization: `Bearer ${login.json<{ access_token: string }>().access_token}`,
  };
  const me = await t.inject({ method: 'GET', url: '/me', headers });
  return {
    userId: reg.json<{ user_id: string }>().user_id,
    email,
    tenantId: me.json<{ tenant: { id: string } }>().tenant.id,
    headers,
    apiKeyHeaders: { 'x-api-key': login.json<{ api_key: string }>().api_key },
  };
}

/** [start, end) pieces of an interval split at month boundaries (UTC). */
function splitByMonth(start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let s = start;
  while (s < end) {
    const d = new Date(s * 1000);
    const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
    const e = Math.min(end, next);
    out.push([s, e]);
    s = e;
  }
  return out;
}

function expectSplit(records: UsageRecord[], until: number): void {
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  const at140 = records.filter((r) => r.unit_price === 0.00014);
  const at200 = records.filter((r) => r.unit_price === 0.0002);
  expect(at140.length + at200.length).toBe(records.length);
  const last140 = at140[at140.length - 1];
  const first200 = at200[0];
  expect(last140.end).toBe(first200.start); // split exactly at effectiveAt
  expect(at200[at200.length - 1].end).toBe(iso(until));
  // 100 GB x 5 h x 0.00014 = 0.07 USD; 100 GB x 3 h x 0.0002 = 0.06 USD
  const cents = (rs: UsageRecord[]) => Math.round(rs.reduce((a, r) => a + r.amount, 0) * 100);
  expect(cents(at140)).toBe(7);
  expect(cents(at200)).toBe(6);
}
