import { describe, expect, it } from 'vitest';
import { stepMeter, type OpenUsage, type UsageInterval } from './meter';
import { parsePeriod } from './period';
import { splitAtPeriods, type BilledUsage } from './statement';
import type { PriceChange } from './price-catalog';
import { applyScheduledPrices, billOpenUsageAtPrices } from './scheduled-prices';

const s = (iso: string): number => Date.parse(iso) / 1000;
const HOUR = 3600n;

/** A 100 GB volume open since 2026-01-10 at 140 micro-USD per GB-hour. */
const VOLUME: OpenUsage = {
  resourceId: 'vol-1',
  resourceType: 'storage',
  meter: 'gb-hours',
  unit: 'GB-hour',
  description: 'Volume data (100 GB)',
  quantity: 100,
  unitPrice: 140n,
  start: s('2026-01-10T00:00:00Z'),
};

const change = (sku: string, unitPrice: bigint, iso: string): PriceChange => ({
  sku,
  unitPrice,
  effectiveAt: s(iso),
  reason: 'test',
});

const INITIAL = change('storage:gb', 140n, '2026-01-01T00:00:00Z');
const FEB_15 = change('storage:gb', 200n, '2026-02-15T00:00:00Z');

/** [micro-USD, unit price] of each piece: whole hours here, so amounts are exact micros. */
function pieces(billed: BilledUsage[]): Array<[string, string, bigint, bigint]> {
  return billed.map((b) => {
    expect(b.amount % HOUR).toBe(0n);
    return [
      new Date(b.start * 1000).toISOString(),
      new Date(b.end * 1000).toISOString(),
      b.unitPrice,
      b.amount / HOUR,
    ];
  });
}

function bill(history: PriceChange[], period: string, nowIso: string) {
  return pieces(
    billOpenUsageAtPrices(VOLUME, 'storage:gb', history, parsePeriod(period), s(nowIso)),
  );
}

describe('open usage across a price change (exact micro-USD)', () => {
  const history = [INITIAL, FEB_15];
  const NOW = '2026-03-05T00:00:00Z';

  it.each<[string, Array<[string, string, bigint, bigint]>]>([
    // 22 days x 24 h x 100 GB x 140
    ['2026-01', [['2026-01-10T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 140n, 7_392_000n]]],
    [
      '2026-02',
      [
        // 14 days at 140, then 14 days at 200: split exactly at effectiveAt
        ['2026-02-01T00:00:00.000Z', '2026-02-15T00:00:00.000Z', 140n, 4_704_000n],
        ['2026-02-15T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 200n, 6_720_000n],
      ],
    ],
    // 4 days x 24 h x 100 GB x 200, up to now
    ['2026-03', [['2026-03-01T00:00:00.000Z', '2026-03-05T00:00:00.000Z', 200n, 1_920_000n]]],
    ['2026-04', []],
  ])('%s', (period, expected) => {
    expect(bill(history, period, NOW)).toEqual(expected);
  });

  it('past periods are identical before and after the change is known', () => {
    // Jan and the first half of Feb, billed on Feb 10 (before the change was even set) and on
    // Mar 5 (after it took effect), come out the same.
    const before = bill([INITIAL], '2026-01', '2026-02-10T00:00:00Z');
    expect(bill(history, '2026-01', NOW)).toEqual(before);
    expect(bill(history, '2026-01', '2026-02-10T00:00:00Z')).toEqual(before);
    const febBefore = bill([INITIAL], '2026-02', '2026-02-15T00:00:00Z');
    expect(bill(history, '2026-02', NOW)[0]).toEqual(febBefore[0]);
  });

  it('a change effective in the future bills nothing at the new price until that time', () => {
    const future = [INITIAL, change('storage:gb', 300n, '2026-04-01T00:00:00Z')];
    expect(bill(future, '2026-03', '2026-03-31T12:00:00Z')).toEqual([
      // 30.5 days x 24 h x 100 GB x 140
      ['2026-03-01T00:00:00.000Z', '2026-03-31T12:00:00.000Z', 140n, 10_248_000n],
    ]);
    expect(bill(future, '2026-04', '2026-04-02T00:00:00Z')).toEqual([
      ['2026-04-01T00:00:00.000Z', '2026-04-02T00:00:00.000Z', 300n, 720_000n],
    ]);
  });

  it('ignores other SKUs, changes at or before the start, and a change to the same price', () => {
    const noise = [
      INITIAL,
      change('storage:gb', 999n, '2026-01-10T00:00:00Z'), // at the start: not a split
      change('storage:gb', 140n, '2026-01-20T00:00:00Z'), // same price as open: no split
      change('instance:basic-1', 1n, '2026-01-15T00:00:00Z'),
    ];
    // The change at the start is in force from then on, but the open usage's price came from
    // its start (what the projection looked up); only later changes split it.
    expect(bill(noise, '2026-01', '2026-01-31T00:00:00Z')).toEqual([
      ['2026-01-10T00:00:00.000Z', '2026-01-31T00:00:00.000Z', 140n, 7_056_000n],
    ]);
  });

  it('two changes at the same instant: the later one in the log wins', () => {
    const tie = [
      INITIAL,
      change('storage:gb', 200n, '2026-01-20T00:00:00Z'),
      change('storage:gb', 150n, '2026-01-20T00:00:00Z'),
    ];
    expect(bill(tie, '2026-01', '2026-01-21T00:00:00Z')).toEqual([
      ['2026-01-10T00:00:00.000Z', '2026-01-20T00:00:00.000Z', 140n, 3_360_000n],
      ['2026-01-20T00:00:00.000Z', '2026-01-21T00:00:00.000Z', 150n, 360_000n],
    ]);
  });

  it('what the projection writes at the next fact equals what the reads billed before it', () => {
    const history2 = [INITIAL, FEB_15, change('storage:gb', 180n, '2026-03-02T00:00:00Z')];
    const stopAt = s('2026-03-03T00:00:00Z');
    // projection: scheduled changes first, then the stop
    const scheduled = applyScheduledPrices(
      { open: VOLUME, lastAt: VOLUME.start },
      'storage:gb',
      history2,
      stopAt,
    );
    const stopped = stepMeter(scheduled.meter, {
      kind: 'UsageStopped',
      resourceId: 'vol-1',
      at: new Date(stopAt * 1000),
    });
    const written: UsageInterval[] = [...scheduled.closed, stopped.closed as UsageInterval];
    const rows = written.flatMap((i) => splitAtPeriods(i));
    // reads at the stop instant, before the stop was projected
    const read = ['2026-01', '2026-02', '2026-03'].flatMap((p) =>
      billOpenUsageAtPrices(VOLUME, 'storage:gb', history2, parsePeriod(p), stopAt),
    );
    expect(pieces(read)).toEqual(pieces(rows));
    expect(pieces(rows).map((r) => r[3])).toEqual([
      7_392_000n,
      4_704_000n,
      6_720_000n,
      // Mar 1 to 2 at 200, Mar 2 to 3 at 180
      480_000n,
      432_000n,
    ]);
  });
});
