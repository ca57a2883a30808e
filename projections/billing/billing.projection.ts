import type { EntityManager } from 'typeorm';
import {
  EMPTY_RESOURCE_METER,
  METERS,
  stepMeter,
  type MeterName,
  type OpenUsage,
  type ResourceMeter,
  type ResourceType,
  type UsageInterval,
} from '../../src/billing/domain/meter';
import { toEpochSeconds } from '../../src/billing/domain/period';
import { splitAtPeriods } from '../../src/billing/domain/statement';
import {
  priceChangeOf,
  priceInForce,
  PRICING_CATEGORY,
  type PriceChange,
  type PriceSetData,
} from '../../src/billing/domain/price-catalog';
import { applyScheduledPrices } from '../../src/billing/domain/scheduled-prices';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import { defineProjection, type Projection } from '../runtime/projection';
import type { ResourceCatalog } from '../../src/platform/resources/resource-catalog';
import {
  meteredResourceIdOf,
  usageFactsOf,
  type MeteredResource,
  type MeteringLookup,
} from './usage-facts';
import type { MeteredEventType } from '../../src/platform/resources/resource-catalog';

/** Every meter reading an event type (a cluster's events feed cluster-hours and node-hours). */
type MeteringsLookup = (eventType: string) => readonly MeteredEventType[];

/** One meter's reading of the events it meters, as `usageFactsOf` takes it. */
function only(how: MeteredEventType): MeteringLookup {
  return () => how;
}

export const BILLING_PROJECTION = 'billing.usage';

/**
 * Three tables:
 * - `billing_prices`: every `PriceSet` of the price catalog (src/billing/pricing) in log order:
 *   the price history. Usage starts at the price in force at its start; price changes effective
 *   later reach open usage lazily (`applyScheduledPrices`): before a resource's next fact here,
 *   and up to `now` in the reads (src/billing/billing.queries.ts).
 * - `billing_meters`: one row per metered resource (instance, volume): tenant, name, the SKU its
 *   usage is billed under, the instant of its last fact and its open usage (null columns when
 *   nothing is open).
 * - `billing_usage`: closed usage intervals, split at month boundaries, one row per piece, with
 *   the exact amount in metered units (micro-USD / 3600, see src/billing/domain/money.ts) and the
 *   unit price in micro-USD, both `numeric` (bigints, never floats).
 * Instants are epoch seconds (`bigint`). A batch reads the meters it touches once, steps them in
 * memory and writes everything back with two multi-row statements.
 */
export function billingProjection(resources: ResourceCatalog): Projection {
  const metering: MeteringsLookup = (type) => resources.meteringsOf(type);
  return defineProjection({
    ...billingTables,
    // The lifecycle events the families' descriptors meter, and the price catalog's.
    eventTypes: [...resources.meteredEventTypes(), 'PriceSet'],
    apply: (events, manager) => applyBillingBatch(events, manager, metering),
  });
}

const billingTables: Omit<Projection, 'eventTypes' | 'apply'> = {
  name: BILLING_PROJECTION,
  version: 4,
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS billing_prices (
      commit_position numeric NOT NULL,
      prepare_position numeric NOT NULL,
      sku text NOT NULL,
      unit_price numeric NOT NULL,
      effective_at bigint NOT NULL,
      reason text NOT NULL,
      recorded_at bigint NOT NULL,
      actor text,
      PRIMARY KEY (commit_position, prepare_position)
    )`);
    await manager.query(`CREATE TABLE IF NOT EXISTS billing_meters (
      resource_id text PRIMARY KEY,
      tenant_id text,
      kind text NOT NULL,
      name text NOT NULL,
      last_at bigint,
      open_meter text,
      open_description text,
      open_quantity bigint,
      open_unit_price numeric,
      open_start bigint
    )`);
    await manager.query('ALTER TABLE billing_meters ADD COLUMN IF NOT EXISTS sku text');
    await manager.query('ALTER TABLE billing_meters ADD COLUMN IF NOT EXISTS size bigint');
    // Quantities are bigint: a bucket's stored bytes (object-gb-hours) pass 2^31.
    await widenToBigint(manager, 'billing_meters', 'open_quantity');
    await manager.query(
      `CREATE INDEX IF NOT EXISTS billing_meters_open_sku ON billing_meters (sku, open_start)
         WHERE open_meter IS NOT NULL`,
    );
    await manager.query(
      `CREATE INDEX IF NOT EXISTS billing_meters_open ON billing_meters (tenant_id) WHERE open_meter IS NOT NULL`,
    );
    await manager.query(`CREATE TABLE IF NOT EXISTS billing_usage (
      resource_id text NOT NULL,
      start_at bigint NOT NULL,
      end_at bigint NOT NULL,
      tenant_id text,
      period text NOT NULL,
      resource_type text NOT NULL,
      meter text NOT NULL,
      unit text NOT NULL,
      description text NOT NULL,
      quantity bigint NOT NULL,
      unit_price numeric NOT NULL,
      amount numeric NOT NULL,
      PRIMARY KEY (resource_id, start_at)
    )`);
    await widenToBigint(manager, 'billing_usage', 'quantity');
    await manager.query(
      `CREATE INDEX IF NOT EXISTS billing_usage_tenant_period
         ON billing_usage (tenant_id, period, start_at, resource_id, end_at)`,
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE billing_meters, billing_usage, billing_prices');
  },
};

/** `integer` -> `bigint` once (tables created before bucket metering); a no-op afterwards. */
async function widenToBigint(manager: EntityManager, table: string, column: string) {
  const [row] = await manager.query<Array<{ data_type: string }>>(
    `SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`,
    [table, column],
  );
  if (row && row.data_type !== 'bigint') {
    await manager.query(`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE bigint`);
  }
}

interface MeterRow {
  resource_id: string;
  tenant_id: string | null;
  kind: MeteredResource['kind'];
  name: string;
  last_at: string | null;
  open_meter: string | null;
  open_description: string | null;
  /** bigint: text from the driver. */
  open_quantity: string | number | null;
  open_unit_price: string | null;
  open_start: string | null;
  sku: string | null;
  /** bigint: text from the driver. */
  size: string | number | null;
}

interface MeterState {
  resource: MeteredResource;
  meter: ResourceMeter;
}

function fromRow(row: MeterRow): MeterState {
  let open: OpenUsage | null = null;
  if (row.open_meter !== null && row.open_meter in METERS) {
    const meter = row.open_meter as MeterName;
    open = {
      resourceId: row.resource_id,
      resourceType: METERS[meter].resourceType,
      meter,
      unit: METERS[meter].unit,
      description: row.open_description ?? '',
      quantity: Number(row.open_quantity ?? 0),
      unitPrice: BigInt(row.open_unit_price ?? '0'),
      start: Number(row.open_start),
    };
  }
  return {
    resource: {
      resourceId: row.resource_id,
      kind: row.kind,
      tenantId: row.tenant_id,
      name: row.name,
      sku: row.sku,
      size: row.size === null ? null : Number(row.size),
    },
    meter: { open, lastAt: row.last_at === null ? null : Number(row.last_at) },
  };
}

interface UsageRow {
  resourceId: string;
  start: number;
  end: number;
  tenantId: string | null;
  period: string;
  resourceType: ResourceType;
  meter: MeterName;
  unit: string;
  description: string;
  quantity: number;
  unitPrice: bigint;
  amount: bigint;
}

interface PriceRowDb {
  sku: string;
  unit_price: string;
  effective_at: string;
  reason: string;
}

/** The price history in log order (small: a row per price change). */
export async function loadPriceHistory(
  query: <T>(sql: string, params: unknown[]) => Promise<T[]>,
): Promise<PriceChange[]> {
  const rows = await query<PriceRowDb>(
    `SELECT sku, unit_price::text, effective_at::text, reason FROM billing_prices
      ORDER BY commit_position, prepare_position`,
    [],
  );
  return rows.map((r) => ({
    sku: r.sku,
    unitPrice: BigInt(r.unit_price),
    effectiveAt: Number(r.effective_at),
    reason: r.reason,
  }));
}

function isPriceSet(event: RecordedEvent): event is RecordedEvent<PriceSetData> {
  if (event.type !== 'PriceSet' || !event.streamId.startsWith(`${PRICING_CATEGORY}-`)) {
    return false;
  }
  const d = event.data as Partial<PriceSetData> | null;
  return (
    typeof d?.sku === 'string' &&
    typeof d.unitPriceMicroUsd === 'string' &&
    /^\d+$/.test(d.unitPriceMicroUsd) &&
    typeof d.effectiveAt === 'string' &&
    Number.isFinite(Date.parse(d.effectiveAt))
  );
}

async function applyBillingBatch(
  events: readonly RecordedEvent[],
  manager: EntityManager,
  metering: MeteringsLookup,
): Promise<void> {
  const ids = new Set<string>();
  let pricing = false;
  for (const e of events) {
    for (const how of metering(e.type)) {
      const id = meteredResourceIdOf(e, only(how));
      if (id) ids.add(id);
    }
    if (isPriceSet(e)) pricing = true;
  }
  if (ids.size === 0 && !pricing) return;
  const history = await loadPriceHistory((sql, params) => manager.query(sql, params));
  const priceAt = (sku: string, at: number) => priceInForce(history, sku, at)?.unitPrice ?? null;
  const rows = await manager.query<MeterRow[]>(
    'SELECT * FROM billing_meters WHERE resource_id = ANY($1::text[])',
    [[...ids]],
  );
  const states = new Map<string, MeterState>(rows.map((r) => [r.resource_id, fromRow(r)]));
  const touched = new Set<string>();
  const usage: UsageRow[] = [];
  const prices: Array<{ event: RecordedEvent<PriceSetData>; change: PriceChange }> = [];

  const record = (resource: MeteredResource, closed: UsageInterval): void => {
    for (const piece of splitAtPeriods(closed)) {
      usage.push({
        resourceId: piece.resourceId,
        start: piece.start,
        end: piece.end,
        tenantId: resource.tenantId,
        period: piece.period,
        resourceType: piece.resourceType,
        meter: piece.meter,
        unit: piece.unit,
        description: piece.description,
        quantity: piece.quantity,
        unitPrice: piece.unitPrice,
        amount: piece.amount,
      });
    }
  };

  for (const event of events) {
    if (isPriceSet(event)) {
      const change = priceChangeOf(event.data);
      history.push(change);
      prices.push({ event, change });
      // Usage of the SKU that started at or after effectiveAt but came earlier in the log (same
      // second, clocks of two processes) started at the old price: it takes the new one from its
      // start. Usage open since before effectiveAt is split lazily (applyScheduledPrices).
      const late = await manager.query<MeterRow[]>(
        `SELECT * FROM billing_meters WHERE sku = $1 AND open_meter IS NOT NULL
            AND open_start >= $2 AND NOT (resource_id = ANY($3::text[]))`,
        [change.sku, String(change.effectiveAt), [...states.keys()]],
      );
      for (const r of late) states.set(r.resource_id, fromRow(r));
      for (const [id, state] of states) {
        const open = state.meter.open;
        if (state.resource.sku !== change.sku || !open || open.start < change.effectiveAt) continue;
        const price = priceAt(change.sku, open.start);
        if (price === null || price === open.unitPrice) continue;
        states.set(id, {
          ...state,
          meter: { ...state.meter, open: { ...open, unitPrice: price } },
        });
        touched.add(id);
      }
      continue;
    }
    for (const how of metering(event.type)) {
      const id = meteredResourceIdOf(event, only(how));
      if (!id) continue;
      const state = states.get(id);
      const step = usageFactsOf(
        event,
        state?.resource ?? null,
        only(how),
        priceAt,
        state?.meter.open?.quantity ?? 0,
      );
      if (!step) continue;
      let meter = state?.meter ?? EMPTY_RESOURCE_METER;
      for (const fact of step.facts) {
        // A stop for a resource with nothing open is noise (stop requested, then stopped).
        if (fact.kind === 'UsageStopped' && meter.open === null) continue;
        // Price changes that took effect since the resource's last fact split its open usage first.
        const scheduled = applyScheduledPrices(
          meter,
          state?.resource.sku ?? null,
          history,
          toEpochSeconds(fact.at),
        );
        for (const closed of scheduled.closed) record(step.resource, closed);
        const result = stepMeter(scheduled.meter, fact);
        meter = result.next;
        if (result.closed) record(step.resource, result.closed);
      }
      states.set(id, { resource: step.resource, meter });
      touched.add(id);
    }
  }

  if (prices.length > 0) {
    await manager.query(
      `INSERT INTO billing_prices (commit_position, prepare_position, sku, unit_price,
         effective_at, reason, recorded_at, actor)
       SELECT * FROM unnest($1::numeric[], $2::numeric[], $3::text[], $4::numeric[],
         $5::bigint[], $6::text[], $7::bigint[], $8::text[])
       ON CONFLICT DO NOTHING`,
      [
        prices.map((p) => p.event.position.commit.toString()),
        prices.map((p) => p.event.position.prepare.toString()),
        prices.map((p) => p.change.sku),
        prices.map((p) => p.change.unitPrice.toString()),
        prices.map((p) => String(p.change.effectiveAt)),
        prices.map((p) => p.change.reason),
        prices.map((p) => String(toEpochSeconds(p.event.metadata.occurredAt))),
        prices.map((p) => `${p.event.metadata.actor.type}:${p.event.metadata.actor.id}`),
      ],
    );
  }

  if (touched.size > 0) {
    const list = [...touched].map((id) => states.get(id) as MeterState);
    await manager.query(
      `INSERT INTO billing_meters (resource_id, tenant_id, kind, name, last_at, open_meter,
         open_description, open_quantity, open_unit_price, open_start, sku, size)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
         $6::text[], $7::text[], $8::bigint[], $9::numeric[], $10::bigint[], $11::text[],
         $12::bigint[])
       ON CONFLICT (resource_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,
         kind = EXCLUDED.kind, name = EXCLUDED.name, last_at = EXCLUDED.last_at,
         open_meter = EXCLUDED.open_meter, open_description = EXCLUDED.open_description,
         open_quantity = EXCLUDED.open_quantity, open_unit_price = EXCLUDED.open_unit_price,
         open_start = EXCLUDED.open_start, sku = EXCLUDED.sku, size = EXCLUDED.size`,
      [
        list.map((s) => s.resource.resourceId),
        list.map((s) => s.resource.tenantId),
        list.map((s) => s.resource.kind),
        list.map((s) => s.resource.name),
        list.map((s) => (s.meter.lastAt === null ? null : String(s.meter.lastAt))),
        list.map((s) => s.meter.open?.meter ?? null),
        list.map((s) => s.meter.open?.description ?? null),
        list.map((s) => s.meter.open?.quantity ?? null),
        list.map((s) => (s.meter.open ? s.meter.open.unitPrice.toString() : null)),
        list.map((s) => (s.meter.open ? String(s.meter.open.start) : null)),
        list.map((s) => s.resource.sku),
        list.map((s) => (s.resource.size === null ? null : String(s.resource.size))),
      ],
    );
  }
  if (usage.length > 0) {
    await manager.query(
      `INSERT INTO billing_usage (resource_id, start_at, end_at, tenant_id, period, resource_type,
         meter, unit, description, quantity, unit_price, amount)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
         $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::numeric[],
         $12::numeric[])`,
      [
        usage.map((u) => u.resourceId),
        usage.map((u) => String(u.start)),
        usage.map((u) => String(u.end)),
        usage.map((u) => u.tenantId),
        usage.map((u) => u.period),
        usage.map((u) => u.resourceType),
        usage.map((u) => u.meter),
        usage.map((u) => u.unit),
        usage.map((u) => u.description),
        usage.map((u) => u.quantity),
        usage.map((u) => u.unitPrice.toString()),
        usage.map((u) => u.amount.toString()),
      ],
    );
  }
}
