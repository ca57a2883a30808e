import type { EntityManager } from 'typeorm';
import {
  EMPTY_RESOURCE_METER,
  METERS,
  stepMeter,
  type MeterName,
  type OpenUsage,
  type ResourceMeter,
  type ResourceType,
} from '../../src/billing/domain/meter';
import { splitAtPeriods } from '../../src/billing/domain/statement';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import { defineProjection } from '../runtime/projection';
import {
  BILLED_EVENT_TYPES,
  meteredResourceIdOf,
  usageFactsOf,
  type MeteredResource,
} from './usage-facts';

export const BILLING_PROJECTION = 'billing.usage';

/**
 * Two tables:
 * - `billing_meters`: one row per metered resource (instance, volume): tenant, name, the instant of
 *   its last fact and its open usage (null columns when nothing is open).
 * - `billing_usage`: closed usage intervals, split at month boundaries, one row per piece, with
 *   the exact amount in metered units (micro-USD / 3600, see src/billing/domain/money.ts) and the
 *   unit price in micro-USD, both `numeric` (bigints, never floats).
 * Instants are epoch seconds (`bigint`). A batch reads the meters it touches once, steps them in
 * memory and writes everything back with two multi-row statements.
 */
export const billingProjection = defineProjection({
  name: BILLING_PROJECTION,
  version: 1,
  eventTypes: BILLED_EVENT_TYPES,
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS billing_meters (
      resource_id text PRIMARY KEY,
      tenant_id text,
      kind text NOT NULL,
      name text NOT NULL,
      last_at bigint,
      open_meter text,
      open_description text,
      open_quantity integer,
      open_unit_price numeric,
      open_start bigint
    )`);
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
      quantity integer NOT NULL,
      unit_price numeric NOT NULL,
      amount numeric NOT NULL,
      PRIMARY KEY (resource_id, start_at)
    )`);
    await manager.query(
      `CREATE INDEX IF NOT EXISTS billing_usage_tenant_period
         ON billing_usage (tenant_id, period, start_at, resource_id, end_at)`,
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE billing_meters, billing_usage');
  },
  async apply(events, manager) {
    await applyBillingBatch(events, manager);
  },
});

interface MeterRow {
  resource_id: string;
  tenant_id: string | null;
  kind: 'instance' | 'volume';
  name: string;
  last_at: string | null;
  open_meter: string | null;
  open_description: string | null;
  open_quantity: number | null;
  open_unit_price: string | null;
  open_start: string | null;
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
      quantity: row.open_quantity ?? 0,
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

async function applyBillingBatch(
  events: readonly RecordedEvent[],
  manager: EntityManager,
): Promise<void> {
  const ids = new Set<string>();
  for (const e of events) {
    const id = meteredResourceIdOf(e);
    if (id) ids.add(id);
  }
  if (ids.size === 0) return;
  const rows = await manager.query<MeterRow[]>(
    'SELECT * FROM billing_meters WHERE resource_id = ANY($1::text[])',
    [[...ids]],
  );
  const states = new Map<string, MeterState>(rows.map((r) => [r.resource_id, fromRow(r)]));
  const touched = new Set<string>();
  const usage: UsageRow[] = [];

  for (const event of events) {
    const id = meteredResourceIdOf(event);
    if (!id) continue;
    const state = states.get(id);
    const step = usageFactsOf(event, state?.resource ?? null);
    if (!step) continue;
    let meter = state?.meter ?? EMPTY_RESOURCE_METER;
    for (const fact of step.facts) {
      // A stop for a resource with nothing open is noise (stop requested, then stopped).
      if (fact.kind === 'UsageStopped' && meter.open === null) continue;
      const result = stepMeter(meter, fact);
      meter = result.next;
      if (result.closed) {
        for (const piece of splitAtPeriods(result.closed)) {
          usage.push({
            resourceId: piece.resourceId,
            start: piece.start,
            end: piece.end,
            tenantId: step.resource.tenantId,
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
      }
    }
    states.set(id, { resource: step.resource, meter });
    touched.add(id);
  }

  if (touched.size > 0) {
    const list = [...touched].map((id) => states.get(id) as MeterState);
    await manager.query(
      `INSERT INTO billing_meters (resource_id, tenant_id, kind, name, last_at, open_meter,
         open_description, open_quantity, open_unit_price, open_start)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
         $6::text[], $7::text[], $8::integer[], $9::numeric[], $10::bigint[])
       ON CONFLICT (resource_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,
         kind = EXCLUDED.kind, name = EXCLUDED.name, last_at = EXCLUDED.last_at,
         open_meter = EXCLUDED.open_meter, open_description = EXCLUDED.open_description,
         open_quantity = EXCLUDED.open_quantity, open_unit_price = EXCLUDED.open_unit_price,
         open_start = EXCLUDED.open_start`,
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
      ],
    );
  }
  if (usage.length > 0) {
    await manager.query(
      `INSERT INTO billing_usage (resource_id, start_at, end_at, tenant_id, period, resource_type,
         meter, unit, description, quantity, unit_price, amount)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
         $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::numeric[],
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
