/**
 * From usage intervals to what a period bills: split at month boundaries, bill open usage up to
 * "now", summarise, and present in the API's JSON shapes.
 *
 * JSON representation of money (the API's choice): amounts and prices are JSON **numbers**, as the
 * API seed shows (`"total_amount": 150.25`). Amounts are rounded half-even to cents from their
 * exact value and carry at most two decimals; prices carry at most six (they are exact micros).
 * The text of the JSON is exact (`centsToNumber`); clients that need decimal arithmetic should
 * parse the text, not do float sums. CSV and PDF reports use `formatCents` ("150.25", "0.00").
 */

import { apportionCents, centsToNumber, microsToNumber, presentCents, type Metered } from './money';
import {
  intervalAmount,
  RESOURCE_TYPES,
  type OpenUsage,
  type ResourceType,
  type UsageInterval,
} from './meter';
import {
  formatInstant,
  nextPeriod,
  periodContaining,
  presentPeriodBounds,
  type BillingPeriod,
} from './period';

/** A piece of usage inside one period, with its exact amount. */
export interface BilledUsage extends UsageInterval {
  period: string;
  amount: Metered;
  /** True for usage still running, billed up to "now". */
  ongoing: boolean;
}

/**
 * Splits an interval at every month boundary it crosses (exactly at 00:00:00Z of the 1st). The
 * pieces are contiguous, in order, and their amounts sum exactly to the interval's amount.
 */
export function splitAtPeriods(interval: UsageInterval, ongoing = false): BilledUsage[] {
  const pieces: BilledUsage[] = [];
  let period = periodContaining(interval.start);
  let start = interval.start;
  while (start < interval.end) {
    const end = Math.min(interval.end, period.end);
    const piece: UsageInterval = { ...interval, start, end };
    pieces.push({ ...piece, period: period.key, amount: intervalAmount(piece), ongoing });
    start = end;
    period = nextPeriod(period);
  }
  return pieces;
}

/** The part of an interval inside a period, or null when they do not overlap. */
export function clipToPeriod(
  interval: UsageInterval,
  period: BillingPeriod,
  ongoing = false,
): BilledUsage | null {
  const start = Math.max(interval.start, period.start);
  const end = Math.min(interval.end, period.end);
  if (end <= start) return null;
  const piece: UsageInterval = { ...interval, start, end };
  return { ...piece, period: period.key, amount: intervalAmount(piece), ongoing };
}

/**
 * Open usage billed up to `now` (epoch seconds) inside a period: a past period sees it up to its
 * end, the current period up to `now`, a future period (or a start after `now`) not at all.
 */
export function billOpenUsage(
  open: OpenUsage,
  period: BillingPeriod,
  now: number,
): BilledUsage | null {
  if (now <= open.start) return null;
  return clipToPeriod({ ...open, end: now }, period, true);
}

/**
 * Everything a period bills: closed intervals clipped to it, then open usage up to `now`; ordered
 * by start, then resource id, then end.
 */
export function billPeriod(
  closed: Iterable<UsageInterval>,
  open: Iterable<OpenUsage>,
  period: BillingPeriod,
  now: number,
): BilledUsage[] {
  const billed: BilledUsage[] = [];
  for (const interval of closed) {
    const piece = clipToPeriod(interval, period);
    if (piece) billed.push(piece);
  }
  for (const usage of open) {
    const piece = billOpenUsage(usage, period, now);
    if (piece) billed.push(piece);
  }
  return billed.sort(compareBilled);
}

function compareBilled(a: BilledUsage, b: BilledUsage): number {
  if (a.start !== b.start) return a.start - b.start;
  if (a.resourceId !== b.resourceId) return a.resourceId < b.resourceId ? -1 : 1;
  return a.end - b.end;
}

/** Exact totals of a period, per resource type. */
export interface PeriodTotals {
  period: BillingPeriod;
  byType: Record<ResourceType, Metered>;
}

export function totalsOf(
  period: BillingPeriod,
  items: Iterable<{ resourceType: ResourceType; amount: Metered }>,
): PeriodTotals {
  const byType: Record<ResourceType, Metered> = { compute: 0n, storage: 0n, network: 0n };
  for (const item of items) byType[item.resourceType] += item.amount;
  return { period, byType };
}

/** `GET /billing/summary` body. */
export interface BillingSummaryJson {
  period_start: string;
  period_end: string;
  total_amount: number;
  currency: 'USD';
  usage_by_type: Record<ResourceType, number>;
}

/**
 * The summary: `total_amount` is the exact sum rounded once (half-even to cents); the per-type
 * figures are apportioned from it (largest remainder) so that they add up to `total_amount`.
 */
export function presentSummary(totals: PeriodTotals): BillingSummaryJson {
  const { total, parts } = apportionCents(RESOURCE_TYPES.map((t) => totals.byType[t]));
  const usageByType = {} as Record<ResourceType, number>;
  RESOURCE_TYPES.forEach((t, i) => (usageByType[t] = centsToNumber(parts[i])));
  return {
    ...presentPeriodBounds(totals.period),
    total_amount: centsToNumber(total),
    currency: 'USD',
    usage_by_type: usageByType,
  };
}

/** `GET /billing/usage` record. */
export interface UsageRecordJson {
  resource_id: string;
  resource_type: ResourceType;
  description: string;
  /** Units billed per hour: 1 instance, 1 IP, 100 GB... */
  quantity: number;
  /** e.g. "instance-hour", "GB-hour". */
  unit: string;
  /** USD per unit per hour (exact, up to 6 decimals). */
  unit_price: number;
  /** USD, `quantity × unit_price × (end − start) / 3600 s`, rounded half-even to cents. */
  amount: number;
  start: string;
  /** Exclusive end; for ongoing usage, the instant it is billed up to ("now"). */
  end: string;
}

export function presentUsageRecord(usage: BilledUsage): UsageRecordJson {
  return {
    resource_id: usage.resourceId,
    resource_type: usage.resourceType,
    description: usage.description,
    quantity: usage.quantity,
    unit: usage.unit,
    unit_price: microsToNumber(usage.unitPrice),
    amount: centsToNumber(presentCents(usage.amount)),
    start: formatInstant(usage.start),
    end: formatInstant(usage.end),
  };
}
