/**
 * Price changes meet open usage. A `PriceSet` for a SKU reprices every usage of that SKU that is
 * open at its `effectiveAt`: the open interval closes at `effectiveAt` at the old price and goes
 * on at the new one. The projection does not wait for a clock: it applies the changes lazily,
 * whenever a later fact of the resource passes `effectiveAt` (before stepping that fact), and the
 * reads do the same with their `now`. Both use this one function, so a period billed before the
 * resource's next fact and after it come out the same.
 *
 * Changes effective at or before the open usage's start are already in its price (usage starts at
 * the price in force at its start), so only changes effective strictly after it apply.
 */
import type { BillingPeriod } from './period';
import { billOpenUsage, clipToPeriod, type BilledUsage } from './statement';
import { stepMeter, type OpenUsage, type ResourceMeter, type UsageInterval } from './meter';
import { priceInForce, type PriceChange } from './price-catalog';

export interface ScheduledPricesResult {
  meter: ResourceMeter;
  /** Intervals closed by a price change, in time order. */
  closed: UsageInterval[];
}

/** Applies the SKU's price changes effective in `(open.start, until]` to the meter, in order. */
export function applyScheduledPrices(
  meter: ResourceMeter,
  sku: string | null,
  history: readonly PriceChange[],
  until: number,
): ScheduledPricesResult {
  const closed: UsageInterval[] = [];
  if (!sku || !meter.open) return { meter, closed };
  const instants = [
    ...new Set(history.filter((c) => c.sku === sku).map((c) => c.effectiveAt)),
  ].sort((a, b) => a - b);
  let current = meter;
  for (const effectiveAt of instants) {
    const open: OpenUsage | null = current.open;
    if (!open || effectiveAt > until) break;
    if (effectiveAt <= open.start) continue;
    const change = priceInForce(history, sku, effectiveAt);
    if (!change) continue;
    const step = stepMeter(current, {
      kind: 'UsagePriceChanged',
      resourceId: open.resourceId,
      unitPrice: change.unitPrice,
      at: new Date(effectiveAt * 1000),
    });
    current = step.next;
    if (step.closed) closed.push(step.closed);
  }
  return { meter: current, closed };
}

/**
 * Open usage as billed up to `now`: the pieces that price changes effective by then closed, and
 * what is still open (at the price in force at `now`).
 */
export function openUsageAt(
  open: OpenUsage,
  sku: string | null,
  history: readonly PriceChange[],
  now: number,
): ScheduledPricesResult {
  return applyScheduledPrices({ open, lastAt: open.start }, sku, history, now);
}

/**
 * What open usage bills inside `period` up to `now`, split at the price changes of its SKU that
 * took effect by then: the pieces the projection will write once the resource's next fact comes.
 */
export function billOpenUsageAtPrices(
  open: OpenUsage,
  sku: string | null,
  history: readonly PriceChange[],
  period: BillingPeriod,
  now: number,
): BilledUsage[] {
  const { meter, closed } = openUsageAt(open, sku, history, now);
  const out: BilledUsage[] = [];
  for (const interval of closed) {
    const piece = clipToPeriod(interval, period);
    if (piece) out.push(piece);
  }
  const ongoing = meter.open ? billOpenUsage(meter.open, period, now) : null;
  if (ongoing) out.push(ongoing);
  return out;
}
