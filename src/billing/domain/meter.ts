/**
 * The billing meter: a pure fold over usage facts into usage intervals.
 *
 * Usage facts are a small input language, independent of event names. The billing projection
 * maps lifecycle events onto them, e.g.:
 *
 * | lifecycle event                                     | usage fact                      |
 * | --------------------------------------------------- | ------------------------------- |
 * | instance enters RUNNING (from STARTING)             | UsageStarted instance-hours     |
 * | instance paused / resumed                           | nothing (PAUSED is billed too)  |
 * | instance resized while RUNNING or PAUSED            | UsagePriceChanged (new price)   |
 * | instance leaves RUNNING/PAUSED (stop, terminate...) | UsageStopped                    |
 * | volume created / deleted                            | UsageStarted gb-hours / Stopped |
 * | elastic IP allocated / released                     | UsageStarted eip-hours / Stop   |
 * | NAT gateway active / deleted or failed              | UsageStarted natgw-hours / Stop |
 * | cluster running / deleting                          | UsageStarted cluster-hours/Stop |
 * | cluster running / scaled / deleting (its workers)   | UsageStarted node-hours x       |
 * |                                                     | workers / PriceChanged / Stop   |
 * | database or cache running / stopped, failed, deleting | UsageStarted ...-hours / Stop |
 * | database created / storage grown / failed, deleting | database-storage-hours x GB    |
 * | cache running / stopped, failed, deleting           | cache-memory-hours x MiB       |
 * | bucket's stored bytes change (0 -> n, n -> m, n -> 0) | object-gb-hours Started/Stopped |
 * | catalog price of a type changed                     | UsagePriceChanged per open use  |
 *
 * Rules of the fold (per resource, facts in log order):
 * - Instants are floored to whole seconds: billing is per second.
 * - Time never runs backwards for a resource: a fact stamped earlier than the resource's previous
 *   fact is applied at the previous fact's instant (zero length) and reported as an anomaly of
 *   kind `out_of_order`. The log is immutable, so the meter must not throw on history; clamping
 *   keeps every amount non-negative and the result deterministic.
 * - `UsageStarted` while usage is open closes the open interval and opens a new one with the new
 *   terms (`restarted_while_open` anomaly only if the terms are identical, in which case nothing
 *   changes). `UsagePriceChanged` closes and reopens at the new price; on a resource with no open
 *   usage it is ignored (a stopped instance that is resized is billed at the new price from its
 *   next `UsageStarted`). `UsageStopped` with nothing open is ignored (`stop_without_start`).
 * - Zero-length intervals are not emitted.
 */

import { divideHalfEven, meteredCost, type Metered, type Micros } from './money';
import { toEpochSeconds } from './period';

export type ResourceType = 'compute' | 'storage' | 'network';
export const RESOURCE_TYPES: readonly ResourceType[] = ['compute', 'storage', 'network'];

/**
 * Known meters. Each later resource family adds its meter here. `unit` is what one unit of
 * `quantity` is billed per hour as; `unit_price` is micro-USD per that unit per hour. A meter with
 * `quantityPerUnit` counts `quantity` in a finer unit (`object-gb-hours`: bytes, 2^30 a GiB), so
 * a bucket's stored bytes are billed exactly per byte and second at a per-GiB-hour price; its
 * amounts are rounded half-even to a metered unit (1/3600 micro-USD) per interval.
 */
export const METERS = {
  'instance-hours': { resourceType: 'compute', unit: 'instance-hour' },
  'gb-hours': { resourceType: 'storage', unit: 'GB-hour' },
  'eip-hours': { resourceType: 'network', unit: 'IP-hour' },
  'natgw-hours': { resourceType: 'network', unit: 'gateway-hour' },
  'cluster-hours': { resourceType: 'compute', unit: 'cluster-hour' },
  'node-hours': { resourceType: 'compute', unit: 'node-hour' },
  'database-hours': { resourceType: 'compute', unit: 'database-hour' },
  'cache-hours': { resourceType: 'compute', unit: 'cache-hour' },
  'database-storage-hours': { resourceType: 'storage', unit: 'GB-hour' },
  'cache-memory-hours': { resourceType: 'compute', unit: 'GB-hour', quantityPerUnit: 1024 },
  'object-gb-hours': { resourceType: 'storage', unit: 'GB-hour', quantityPerUnit: 2 ** 30 },
} as const satisfies Record<
  string,
  { resourceType: ResourceType; unit: string; quantityPerUnit?: number }
>;

export type MeterName = keyof typeof METERS;

export type Instant = string | Date;

export interface UsageStarted {
  kind: 'UsageStarted';
  resourceId: string;
  meter: MeterName;
  /** Micro-USD per unit per hour. */
  unitPrice: Micros;
  /**
   * Non-negative integer: 1 for an instance, an IP or a gateway; the size in GB for a volume; a
   * cluster's worker count for node-hours; the stored bytes of a bucket (`object-gb-hours`, see
   * `quantityPerUnit`); a database's allocated GB; a cache's memory in MiB (`cache-memory-hours`).
   */
  quantity: number;
  /** Human description, e.g. "Instance web-01 (basic-2)". */
  description: string;
  at: Instant;
}

export interface UsagePriceChanged {
  kind: 'UsagePriceChanged';
  resourceId: string;
  unitPrice: Micros;
  /** New quantity (a volume grown to 200 GB); unchanged when absent. */
  quantity?: number;
  /** New description (the new instance type); unchanged when absent. */
  description?: string;
  at: Instant;
}

export interface UsageStopped {
  kind: 'UsageStopped';
  resourceId: string;
  at: Instant;
}

export type UsageFact = UsageStarted | UsagePriceChanged | UsageStopped;

/** Usage in progress. Instants are epoch seconds. */
export interface OpenUsage {
  resourceId: string;
  resourceType: ResourceType;
  meter: MeterName;
  unit: string;
  description: string;
  quantity: number;
  unitPrice: Micros;
  start: number;
}

/** A closed usage interval `[start, end)`, epoch seconds, start < end. */
export interface UsageInterval extends OpenUsage {
  end: number;
}

export type MeterAnomalyKind = 'out_of_order' | 'stop_without_start' | 'restarted_while_open';

export interface MeterAnomaly {
  kind: MeterAnomalyKind;
  resourceId: string;
  /** The fact's own instant (epoch seconds) and the instant it was applied at. */
  statedAt: number;
  appliedAt: number;
}

/** What the meter remembers about one resource between facts. */
export interface ResourceMeter {
  open: OpenUsage | null;
  /** Instant of the last fact applied (epoch seconds), null before any fact. */
  lastAt: number | null;
}

export const EMPTY_RESOURCE_METER: ResourceMeter = Object.freeze({ open: null, lastAt: null });

export interface MeterStep {
  next: ResourceMeter;
  /** The interval this fact closed, if any (never zero-length). */
  closed: UsageInterval | null;
  anomaly: MeterAnomaly | null;
}

export class InvalidUsageFact extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUsageFact';
  }
}

function validate(fact: UsageFact): void {
  if (!fact.resourceId) throw new InvalidUsageFact('resourceId is required');
  if (fact.kind === 'UsageStopped') return;
  if (typeof fact.unitPrice !== 'bigint' || fact.unitPrice < 0n) {
    throw new InvalidUsageFact(`unitPrice must be a non-negative bigint (${fact.resourceId})`);
  }
  if (fact.quantity !== undefined && (!Number.isSafeInteger(fact.quantity) || fact.quantity < 0)) {
    throw new InvalidUsageFact(`quantity must be a non-negative integer (${fact.resourceId})`);
  }
  if (fact.kind === 'UsageStarted' && !(fact.meter in METERS)) {
    throw new InvalidUsageFact(`unknown meter ${String(fact.meter)}`);
  }
}

function close(open: OpenUsage, end: number): UsageInterval | null {
  return end > open.start ? { ...open, end } : null;
}

/**
 * One fact applied to one resource. Pure: the projection keeps `ResourceMeter` per resource (its
 * open usage row) and stores each closed interval it returns. Throws `InvalidUsageFact` only for
 * facts the projection built wrongly (a negative price, an unknown meter), never for history.
 */
export function stepMeter(meter: ResourceMeter, fact: UsageFact): MeterStep {
  validate(fact);
  const statedAt = toEpochSeconds(fact.at);
  const at = meter.lastAt !== null && statedAt < meter.lastAt ? meter.lastAt : statedAt;
  let anomaly: MeterAnomaly | null =
    at !== statedAt
      ? { kind: 'out_of_order', resourceId: fact.resourceId, statedAt, appliedAt: at }
      : null;
  const { open } = meter;

  switch (fact.kind) {
    case 'UsageStarted': {
      const definition = METERS[fact.meter];
      const started: OpenUsage = {
        resourceId: fact.resourceId,
        resourceType: definition.resourceType,
        meter: fact.meter,
        unit: definition.unit,
        description: fact.description,
        quantity: fact.quantity,
        unitPrice: fact.unitPrice,
        start: at,
      };
      if (open && sameTerms(open, started)) {
        anomaly ??= {
          kind: 'restarted_while_open',
          resourceId: fact.resourceId,
          statedAt,
          appliedAt: at,
        };
        return { next: { open, lastAt: at }, closed: null, anomaly };
      }
      return {
        next: { open: started, lastAt: at },
        closed: open ? close(open, at) : null,
        anomaly,
      };
    }
    case 'UsagePriceChanged': {
      if (!open) return { next: { open: null, lastAt: at }, closed: null, anomaly };
      const changed: OpenUsage = {
        ...open,
        unitPrice: fact.unitPrice,
        quantity: fact.quantity ?? open.quantity,
        description: fact.description ?? open.description,
        start: at,
      };
      if (sameTerms(open, changed)) return { next: { open, lastAt: at }, closed: null, anomaly };
      return { next: { open: changed, lastAt: at }, closed: close(open, at), anomaly };
    }
    case 'UsageStopped': {
      if (!open) {
        anomaly ??= {
          kind: 'stop_without_start',
          resourceId: fact.resourceId,
          statedAt,
          appliedAt: at,
        };
        return { next: { open: null, lastAt: at }, closed: null, anomaly };
      }
      return { next: { open: null, lastAt: at }, closed: close(open, at), anomaly };
    }
    default: {
      const unreachable: never = fact;
      throw new InvalidUsageFact(`unknown usage fact ${JSON.stringify(unreachable)}`);
    }
  }
}

function sameTerms(a: OpenUsage, b: OpenUsage): boolean {
  return (
    a.meter === b.meter &&
    a.unitPrice === b.unitPrice &&
    a.quantity === b.quantity &&
    a.description === b.description
  );
}

export interface FoldedUsage {
  closed: UsageInterval[];
  /** Usage still open after the last fact, ordered by resource id. */
  open: OpenUsage[];
  anomalies: MeterAnomaly[];
}

/** Folds a whole history (in log order). Closed intervals come out in the order they closed. */
export function foldUsage(facts: Iterable<UsageFact>): FoldedUsage {
  const meters = new Map<string, ResourceMeter>();
  const closed: UsageInterval[] = [];
  const anomalies: MeterAnomaly[] = [];
  for (const fact of facts) {
    const step = stepMeter(meters.get(fact.resourceId) ?? EMPTY_RESOURCE_METER, fact);
    meters.set(fact.resourceId, step.next);
    if (step.closed) closed.push(step.closed);
    if (step.anomaly) anomalies.push(step.anomaly);
  }
  const open = [...meters.values()]
    .flatMap((m) => (m.open ? [m.open] : []))
    .sort((a, b) => (a.resourceId < b.resourceId ? -1 : a.resourceId > b.resourceId ? 1 : 0));
  return { closed, open, anomalies };
}

/** How many units of `quantity` make one billed unit of the meter (1 but for byte meters). */
export function quantityPerUnit(meter: MeterName): number {
  const definition = METERS[meter];
  return 'quantityPerUnit' in definition ? definition.quantityPerUnit : 1;
}

/**
 * Metered cost of an interval (see money.ts for the unit): exact, but for meters counting a finer
 * quantity (`quantityPerUnit`), rounded half-even to a metered unit.
 */
export function intervalAmount(
  interval: Pick<UsageInterval, 'meter' | 'unitPrice' | 'quantity' | 'start' | 'end'>,
): Metered {
  const cost = meteredCost(interval.unitPrice, interval.quantity, interval.end - interval.start);
  const per = quantityPerUnit(interval.meter);
  return per === 1 ? cost : divideHalfEven(cost, BigInt(per));
}
