import { describe, expect, it } from 'vitest';
import { apportionCents } from './money';
import { foldUsage, type MeterName, type UsageFact } from './meter';
import { nextPeriod, parsePeriod } from './period';
import { billPeriod, presentSummary, splitAtPeriods, totalsOf } from './statement';

/** mulberry32: a small seeded PRNG so the generated histories are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Generated {
  facts: UsageFact[];
  /** What was really billable, written down while generating: [from, to, micros per hour]. */
  segments: Array<{ from: number; to: number | null; ratePerHour: bigint }>;
}

const METER_CHOICES: Array<{ meter: MeterName; prices: bigint[]; quantities: number[] }> = [
  {
    meter: 'instance-hours',
    prices: [10_000n, 20_000n, 40_000n, 80_000n, 123_457n],
    quantities: [1],
  },
  { meter: 'gb-hours', prices: [100n, 137n], quantities: [1, 10, 100, 250] },
  { meter: 'eip-hours', prices: [5_000n], quantities: [1] },
  { meter: 'natgw-hours', prices: [45_000n, 45_001n], quantities: [1] },
];

function generate(
  seed: number,
  resources: number,
  factsPerResource: number,
  from: number,
): Generated {
  const random = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const stamped: Array<{ t: number; order: number; fact: UsageFact }> = [];
  const segments: Generated['segments'] = [];
  let order = 0;
  for (let r = 0; r < resources; r++) {
    const id = `res-${r.toString().padStart(3, '0')}`;
    const choice = pick(METER_CHOICES);
    let t = from + Math.floor(random() * 86_400 * 10);
    let open: { from: number; price: bigint; quantity: number } | null = null;
    for (let n = 0; n < factsPerResource; n++) {
      // gaps from 0 s (same second) to about 4 days, skewed small
      const gap = random() < 0.05 ? 0 : Math.floor(random() ** 3 * 4 * 86_400);
      t += gap;
      // sub-second noise in the text: the meter must floor it away
      const at = new Date(t * 1000 + Math.floor(random() * 1000)).toISOString();
      const emit = (fact: UsageFact) => stamped.push({ t, order: order++, fact });
      const closeAt = () => {
        if (open)
          segments.push({
            from: open.from,
            to: t,
            ratePerHour: open.price * BigInt(open.quantity),
          });
      };
      if (!open) {
        const price = pick(choice.prices);
        const quantity = pick(choice.quantities);
        emit({
          kind: 'UsageStarted',
          resourceId: id,
          meter: choice.meter,
          unitPrice: price,
          quantity,
          description: id,
          at,
        });
        open = { from: t, price, quantity };
      } else if (random() < 0.4) {
        const price = pick(choice.prices);
        const quantity: number = random() < 0.5 ? open.quantity : pick(choice.quantities);
        emit({ kind: 'UsagePriceChanged', resourceId: id, unitPrice: price, quantity, at });
        if (price !== open.price || quantity !== open.quantity) {
          closeAt();
          open = { from: t, price, quantity };
        }
      } else {
        emit({ kind: 'UsageStopped', resourceId: id, at });
        closeAt();
        open = null;
      }
    }
    if (open)
      segments.push({ from: open.from, to: null, ratePerHour: open.price * BigInt(open.quantity) });
  }
  stamped.sort((a, b) => a.t - b.t || a.order - b.order);
  return { facts: stamped.map((s) => s.fact), segments };
}

/**
 * The independent calculation: walk each billable segment one UTC day at a time and add
 * rate x seconds to the month named by the day's ISO date. No period arithmetic, no meter.
 */
function oracle(segments: Generated['segments'], now: number): Map<string, bigint> {
  const byMonth = new Map<string, bigint>();
  for (const s of segments) {
    const to = Math.min(s.to ?? now, now);
    let t = s.from;
    while (t < to) {
      const dayEnd = Math.min(to, (Math.floor(t / 86_400) + 1) * 86_400);
      const month = new Date(t * 1000).toISOString().slice(0, 7);
      byMonth.set(month, (byMonth.get(month) ?? 0n) + s.ratePerHour * BigInt(dayEnd - t));
      t = dayEnd;
    }
  }
  return byMonth;
}

describe('meter: generated histories against an independent calculation', () => {
  it.each([1, 2, 3, 42, 2026])(
    'seed %d: per-period sums equal the day-by-day calculation',
    (seed) => {
      const from = Date.UTC(2025, 11, 20) / 1000;
      const { facts, segments } = generate(seed, 60, 80, from);
      expect(facts.length).toBe(4800);
      const now = Math.max(...segments.map((s) => s.to ?? s.from)) + 3_600;
      const { closed, open, anomalies } = foldUsage(facts);
      expect(anomalies.filter((a) => a.kind !== 'restarted_while_open')).toEqual([]);

      const expected = oracle(segments, now);
      expect(expected.size).toBeGreaterThanOrEqual(3); // the histories span several months
      let period = parsePeriod('2025-12');
      const lastKey = new Date(now * 1000).toISOString().slice(0, 7);
      let grandTotal = 0n;
      for (;;) {
        const billed = billPeriod(closed, open, period, now);
        const sum = billed.reduce((s, b) => s + b.amount, 0n);
        expect({ period: period.key, sum }).toEqual({
          period: period.key,
          sum: expected.get(period.key) ?? 0n,
        });
        grandTotal += sum;

        // the summary's parts always add up to its total, in cents
        const totals = totalsOf(period, billed);
        const { total, parts } = apportionCents([
          totals.byType.compute,
          totals.byType.storage,
          totals.byType.network,
        ]);
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
        expect(Math.round(presentSummary(totals).total_amount * 100)).toBe(Number(total));

        if (period.key === lastKey) break;
        period = nextPeriod(period);
      }
      const oracleTotal = [...expected.values()].reduce((a, b) => a + b, 0n);
      expect(grandTotal).toBe(oracleTotal);

      // splitting every interval at month boundaries loses nothing either
      const split = [
        ...closed.flatMap((c) => splitAtPeriods(c)),
        ...open.flatMap((o) => splitAtPeriods({ ...o, end: now }, true)),
      ];
      expect(split.reduce((s, p) => s + p.amount, 0n)).toBe(oracleTotal);
    },
  );
});
