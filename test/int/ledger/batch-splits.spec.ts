import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import type { EventStore, NewEvent, RecordedEvent } from '../../../src/eventstore/event-store';
import { knownSkus, type PriceSetData } from '../../../src/billing/domain/price-catalog';
import { auditProjection as auditProjectionOf } from '../../../projections/audit/audit.projection';
import { billingProjection as billingProjectionOf } from '../../../projections/billing/billing.projection';
import { APP_RESOURCE_CATALOG } from '../../../src/resource-kinds';
import type { Projection } from '../../../projections/runtime/projection';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { openDataSource } from '../projections/fixtures';
import { generateHistory } from './history';

const billingProjection = billingProjectionOf(APP_RESOURCE_CATALOG);
const auditProjection = auditProjectionOf(APP_RESOURCE_CATALOG);

/**
 * A projection's read model depends on the log only, never on how the runtime cut it into
 * batches: a live runner sees small batches, a rebuild large ones, and the runners of a process
 * commit together. The same log is projected whole, one event per batch and cut at random
 * places; the tables must come out identical.
 */

const START = Date.UTC(2026, 1, 20) / 1000; // 2026-02-20
const END = Date.UTC(2026, 2, 28) / 1000; // 2026-03-28
/** The start-up catalog, written long after the history it prices (as the ledger tests do). */
const SEEDED_AT = '2026-12-02T09:00:00Z';
const SKUS = knownSkus().map((s) => s.sku);

const TABLES: Record<string, string[]> = {
  [billingProjection.name]: [
    'SELECT * FROM billing_usage ORDER BY resource_id, start_at',
    'SELECT * FROM billing_meters ORDER BY resource_id',
    'SELECT * FROM billing_prices ORDER BY commit_position, prepare_position',
  ],
  [auditProjection.name]: ['SELECT * FROM audit_log ORDER BY id'],
};

interface PriceChangeSpec {
  sku: string;
  unitPriceMicroUsd: number;
  /** Epoch seconds. */
  effectiveAt: number;
  /** Where in the history the change is appended, as a fraction of its length. */
  at: number;
}

function priceSet(n: number, sku: string, price: string, effectiveAt: string): NewEvent {
  const data: PriceSetData = { sku, unitPriceMicroUsd: price, effectiveAt, reason: `change ${n}` };
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: 'PriceSet',
    data,
    metadata: {
      tenantId: null,
      actor: { type: 'system', id: 'pricing' },
      correlationId: `price-${n}`,
      causationId: null,
      requestId: null,
      sourceIp: null,
      occurredAt: effectiveAt,
      schemaVersion: 1,
    },
  };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The log: the start-up catalog first (effective after the whole history), then a generated
 * history with price changes (effective during or after it) appended in between.
 */
async function buildLog(seed: number, changes: PriceChangeSpec[]): Promise<RecordedEvent[]> {
  const appended: Array<{ stream: string; event: NewEvent }> = [];
  const capture = {
    append: (stream: string, events: NewEvent[]) => {
      for (const event of events) appended.push({ stream, event });
      const position = { commit: BigInt(appended.length), prepare: BigInt(appended.length) };
      return Promise.resolve({ nextExpectedRevision: 0n, position });
    },
  } as unknown as EventStore;
  await generateHistory(capture, {
    tenants: ['tenant-a', 'tenant-b'],
    instancesPerTenant: 3,
    volumesPerTenant: 2,
    start: START,
    end: END,
    operationsPerInstance: 6,
    leaveOpen: 0.4,
    seed,
  });
  const catalog = 'pricing-catalog-global';
  const entries = SKUS.map((sku, i) => ({
    stream: catalog,
    event: priceSet(i, sku, String(knownSkus()[i].initialPrice), SEEDED_AT),
  }));
  const inserts = changes
    .map((c, i) => ({
      index: Math.floor(c.at * appended.length),
      entry: {
        stream: catalog,
        event: priceSet(100 + i, c.sku, String(c.unitPriceMicroUsd), iso(c.effectiveAt)),
      },
    }))
    .sort((a, b) => a.index - b.index);
  let next = 0;
  appended.forEach((entry, index) => {
    while (next < inserts.length && inserts[next].index <= index)
      entries.push(inserts[next++].entry);
    entries.push(entry);
  });
  while (next < inserts.length) entries.push(inserts[next++].entry);
  return entries.map(({ stream, event }, i) => ({
    ...event,
    streamId: stream,
    revision: 0n,
    position: { commit: BigInt(i + 1), prepare: BigInt(i + 1) },
    recordedAt: new Date(Date.parse(event.metadata.occurredAt)),
  }));
}

/** Batch sizes that cover `length` events: cut after each index in `cuts`. */
function sizesFromCuts(length: number, cuts: number[]): number[] {
  const points = [...new Set(cuts.map((c) => c % length))].sort((a, b) => a - b);
  const sizes: number[] = [];
  let from = 0;
  for (const point of points) {
    if (point + 1 > from) sizes.push(point + 1 - from);
    from = Math.max(from, point + 1);
  }
  if (from < length) sizes.push(length - from);
  return sizes;
}

describe('billing and audit read models do not depend on how the log is cut into batches', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('ledger_batches');
    dataSource = await openDataSource(db.url);
    await dataSource.transaction(async (manager) => {
      await billingProjection.setup(manager);
      await auditProjection.setup(manager);
    });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  /** Resets the read model, applies the log's events for it in batches of `sizes`, dumps it. */
  async function project(
    projection: Projection,
    log: readonly RecordedEvent[],
    sizes: number[],
  ): Promise<unknown[]> {
    const types = new Set<string>(projection.eventTypes ?? []);
    const relevant = log.filter((e) => types.has(e.type));
    await dataSource.transaction((manager) => projection.reset(manager));
    let from = 0;
    for (const size of sizes) {
      const batch = relevant.slice(from, from + size);
      from += size;
      if (batch.length > 0) await dataSource.transaction((m) => projection.apply(batch, m));
    }
    expect(from).toBeGreaterThanOrEqual(relevant.length);
    const out: unknown[] = [];
    for (const sql of TABLES[projection.name]) out.push(await dataSource.query(sql));
    return out;
  }

  const priceChange = fc.record({
    sku: fc.constantFrom(...SKUS),
    unitPriceMicroUsd: fc.constantFrom(0, 90, 140, 15_000, 20_000, 55_555),
    effectiveAt: fc.oneof(
      fc.integer({ min: START - 86_400, max: END + 86_400 }),
      fc.constant(Date.parse(SEEDED_AT) / 1000 + 3600),
    ),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  });

  for (const projection of [billingProjection, auditProjection]) {
    it(`${projection.name}: one batch, one event per batch and random cuts give the same tables`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 1_000_000 }),
          fc.array(priceChange, { maxLength: 6 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
          async (seed, changes, cuts) => {
            const log = await buildLog(seed, changes);
            const types = new Set<string>(projection.eventTypes ?? []);
            const length = log.filter((e) => types.has(e.type)).length;
            const whole = await project(projection, log, [length]);
            expect(await project(projection, log, Array<number>(length).fill(1))).toEqual(whole);
            expect(await project(projection, log, sizesFromCuts(length, cuts))).toEqual(whole);
          },
        ),
        { numRuns: 12 },
      );
    }, 300_000);
  }
});
