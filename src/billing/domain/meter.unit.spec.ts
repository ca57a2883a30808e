import { describe, expect, it } from 'vitest';
import { presentCents } from './money';
import {
  foldUsage,
  intervalAmount,
  InvalidUsageFact,
  stepMeter,
  EMPTY_RESOURCE_METER,
  type UsageFact,
} from './meter';
import { parsePeriod, toEpochSeconds } from './period';
import {
  billPeriod,
  presentSummary,
  presentUsageRecord,
  splitAtPeriods,
  totalsOf,
} from './statement';

const BASIC_2 = 20_000n; // 0.02 USD/h
const BASIC_4 = 40_000n; // 0.04 USD/h
const GB_HOUR = 100n; // 0.0001 USD per GB-hour
const EIP_HOUR = 5_000n; // 0.005 USD/h
const NAT_HOUR = 45_000n; // 0.045 USD/h

const start = (at: string, unitPrice = BASIC_2, id = 'i-1'): UsageFact => ({
  kind: 'UsageStarted',
  resourceId: id,
  meter: 'instance-hours',
  unitPrice,
  quantity: 1,
  description: 'Instance web-01 (basic-2)',
  at,
});
const price = (at: string, unitPrice: bigint, id = 'i-1'): UsageFact => ({
  kind: 'UsagePriceChanged',
  resourceId: id,
  unitPrice,
  description: 'Instance web-01 (basic-4)',
  at,
});
const stop = (at: string, id = 'i-1'): UsageFact => ({ kind: 'UsageStopped', resourceId: id, at });

/** Cents of everything closed in a history. */
function closedCents(facts: UsageFact[]): bigint[] {
  return foldUsage(facts).closed.map((i) => presentCents(intervalAmount(i)));
}

describe('meter: lifecycle sequences', () => {
  it.each<[string, UsageFact[], bigint[]]>([
    [
      'start then stop 2 h at 0.02',
      [start('2026-01-05T10:00:00Z'), stop('2026-01-05T12:00:00Z')],
      [4n],
    ],
    [
      // pause and resume produce no usage fact: PAUSED is billed like RUNNING
      'start, pause, resume, stop: one 3 h interval',
      [start('2026-01-05T10:00:00Z'), stop('2026-01-05T13:00:00Z')],
      [6n],
    ],
    [
      'resize at 10:30 from 0.02 to 0.04, stop at 12:00: 0.01 + 0.06',
      [
        start('2026-01-05T10:00:00Z'),
        price('2026-01-05T10:30:00Z', BASIC_4),
        stop('2026-01-05T12:00:00Z'),
      ],
      [1n, 6n],
    ],
    [
      'stop, start again, terminate: two intervals',
      [
        start('2026-01-05T10:00:00Z'),
        stop('2026-01-05T11:00:00Z'),
        start('2026-01-05T20:00:00Z'),
        stop('2026-01-06T02:00:00Z'),
      ],
      [2n, 12n],
    ],
    [
      'zero-length: started and stopped in the same second',
      [start('2026-01-05T10:00:00.100Z'), stop('2026-01-05T10:00:00.900Z')],
      [],
    ],
    [
      'half a cent rounds to even (0.01 USD/h for 30 min)',
      [start('2026-01-05T10:00:00Z', 10_000n), stop('2026-01-05T10:30:00Z')],
      [0n],
    ],
    [
      'one and a half cents rounds to even (90 min)',
      [start('2026-01-05T10:00:00Z', 10_000n), stop('2026-01-05T11:30:00Z')],
      [2n],
    ],
    [
      'catalog price change while running, same price twice is no change',
      [
        start('2026-01-05T00:00:00Z'),
        price('2026-01-06T00:00:00Z', BASIC_4),
        price('2026-01-06T12:00:00Z', BASIC_4),
        stop('2026-01-07T00:00:00Z'),
      ],
      [48n, 96n],
    ],
    [
      'resize of a stopped instance is ignored until the next start',
      [
        start('2026-01-05T10:00:00Z'),
        stop('2026-01-05T11:00:00Z'),
        price('2026-01-05T12:00:00Z', BASIC_4),
        start('2026-01-05T13:00:00Z', BASIC_4),
        stop('2026-01-05T14:00:00Z'),
      ],
      [2n, 4n],
    ],
  ])('%s', (_name, facts, cents) => {
    expect(closedCents(facts)).toEqual(cents);
  });

  it('bills per second, flooring instants to the second', () => {
    const { closed } = foldUsage([
      start('2026-01-05T10:00:00.900Z'),
      stop('2026-01-05T10:00:07.100Z'),
    ]);
    expect(closed).toHaveLength(1);
    expect(closed[0].end - closed[0].start).toBe(7);
    expect(intervalAmount(closed[0])).toBe(BASIC_2 * 7n); // metered units: micros x seconds
  });

  it('volumes per GB-hour, elastic IPs while unassociated, NAT gateways while active', () => {
    const facts: UsageFact[] = [
      {
        kind: 'UsageStarted',
        resourceId: 'vol-1',
        meter: 'gb-hours',
        unitPrice: GB_HOUR,
        quantity: 100,
        description: 'Volume data (100 GB)',
        at: '2026-01-01T00:00:00Z',
      },
      {
        kind: 'UsagePriceChanged',
        resourceId: 'vol-1',
        unitPrice: GB_HOUR,
        quantity: 200,
        at: '2026-01-02T00:00:00Z',
      },
      { kind: 'UsageStopped', resourceId: 'vol-1', at: '2026-01-03T00:00:00Z' },
      // allocated, associated 1 h later, disassociated, released
      {
        kind: 'UsageStarted',
        resourceId: 'eip-1',
        meter: 'eip-hours',
        unitPrice: EIP_HOUR,
        quantity: 1,
        description: 'Elastic IP 203.0.113.7',
        at: '2026-01-01T00:00:00Z',
      },
      { kind: 'UsageStopped', resourceId: 'eip-1', at: '2026-01-01T01:00:00Z' },
      {
        kind: 'UsageStarted',
        resourceId: 'eip-1',
        meter: 'eip-hours',
        unitPrice: EIP_HOUR,
        quantity: 1,
        description: 'Elastic IP 203.0.113.7',
        at: '2026-01-01T05:00:00Z',
      },
      { kind: 'UsageStopped', resourceId: 'eip-1', at: '2026-01-01T08:00:00Z' },
      {
        kind: 'UsageStarted',
        resourceId: 'nat-1',
        meter: 'natgw-hours',
        unitPrice: NAT_HOUR,
        quantity: 1,
        description: 'NAT gateway nat-1',
        at: '2026-01-01T00:00:00Z',
      },
      { kind: 'UsageStopped', resourceId: 'nat-1', at: '2026-01-02T00:00:00Z' },
    ];
    const { closed, open } = foldUsage(facts);
    expect(open).toEqual([]);
    const byId = [...closed]
      .sort((a, b) => a.resourceId.localeCompare(b.resourceId) || a.start - b.start)
      .map((i) => [
        i.resourceId,
        i.resourceType,
        i.unit,
        i.quantity,
        presentCents(intervalAmount(i)),
      ]);
    expect(byId).toEqual([
      ['eip-1', 'network', 'IP-hour', 1, 0n], // 0.005 -> 0.00 (half-even)
      ['eip-1', 'network', 'IP-hour', 1, 2n], // 3 h x 0.005 = 0.015 -> 0.02
      ['nat-1', 'network', 'gateway-hour', 1, 108n], // 24 h x 0.045
      ['vol-1', 'storage', 'GB-hour', 100, 24n], // 100 GB x 24 h x 0.0001
      ['vol-1', 'storage', 'GB-hour', 200, 48n],
    ]);
  });

  it('clamps facts stamped before the previous one and reports them', () => {
    const r = foldUsage([start('2026-01-05T10:00:00Z'), stop('2026-01-05T09:00:00Z')]);
    expect(r.closed).toEqual([]);
    expect(r.anomalies).toEqual([
      {
        kind: 'out_of_order',
        resourceId: 'i-1',
        statedAt: toEpochSeconds('2026-01-05T09:00:00Z'),
        appliedAt: toEpochSeconds('2026-01-05T10:00:00Z'),
      },
    ]);
    const late = foldUsage([
      start('2026-01-05T10:00:00Z'),
      price('2026-01-05T12:00:00Z', BASIC_4),
      stop('2026-01-05T11:00:00Z'), // applied at 12:00
    ]);
    expect(late.closed.map((i) => [i.end - i.start, i.unitPrice])).toEqual([[7200, BASIC_2]]);
  });

  it('ignores a stop with nothing open and a duplicate start, reporting both', () => {
    const r = foldUsage([
      stop('2026-01-05T09:00:00Z'),
      start('2026-01-05T10:00:00Z'),
      start('2026-01-05T10:30:00Z'),
      stop('2026-01-05T11:00:00Z'),
    ]);
    expect(r.closed.map((i) => i.end - i.start)).toEqual([3600]);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['stop_without_start', 'restarted_while_open']);
  });

  it('a start with new terms while open closes the old interval', () => {
    const r = foldUsage([
      start('2026-01-05T10:00:00Z'),
      start('2026-01-05T11:00:00Z', BASIC_4),
      stop('2026-01-05T12:00:00Z'),
    ]);
    expect(r.closed.map((i) => presentCents(intervalAmount(i)))).toEqual([2n, 4n]);
  });

  it('refuses facts a projection built wrongly', () => {
    expect(() => stepMeter(EMPTY_RESOURCE_METER, start('2026-01-05T10:00:00Z', -1n))).toThrow(
      InvalidUsageFact,
    );
    expect(() =>
      stepMeter(EMPTY_RESOURCE_METER, {
        ...start('2026-01-05T10:00:00Z'),
        quantity: 1.5,
      } as UsageFact),
    ).toThrow(InvalidUsageFact);
    expect(() =>
      stepMeter(EMPTY_RESOURCE_METER, {
        ...start('2026-01-05T10:00:00Z'),
        meter: 'cpu-years',
      } as unknown as UsageFact),
    ).toThrow(InvalidUsageFact);
  });
});

describe('meter: period boundaries', () => {
  const cents = (facts: UsageFact[], period: string, now = '2030-01-01T00:00:00Z') => {
    const { closed, open } = foldUsage(facts);
    return billPeriod(closed, open, parsePeriod(period), toEpochSeconds(now)).map((b) =>
      presentCents(b.amount),
    );
  };

  it('an instance running across midnight of the 1st appears in both months, split at 00:00:00Z', () => {
    const { closed } = foldUsage([start('2026-01-31T23:00:00Z'), stop('2026-02-01T01:00:00Z')]);
    const pieces = splitAtPeriods(closed[0]).map(presentUsageRecord);
    expect(pieces).toEqual([
      {
        resource_id: 'i-1',
        resource_type: 'compute',
        description: 'Instance web-01 (basic-2)',
        quantity: 1,
        unit: 'instance-hour',
        unit_price: 0.02,
        amount: 0.02,
        start: '2026-01-31T23:00:00Z',
        end: '2026-02-01T00:00:00Z',
      },
      {
        resource_id: 'i-1',
        resource_type: 'compute',
        description: 'Instance web-01 (basic-2)',
        quantity: 1,
        unit: 'instance-hour',
        unit_price: 0.02,
        amount: 0.02,
        start: '2026-02-01T00:00:00Z',
        end: '2026-02-01T01:00:00Z',
      },
    ]);
  });

  it('a leap-year February has 29 days (2028), a common one 28 (2026)', () => {
    expect(cents([start('2028-01-15T00:00:00Z'), stop('2028-03-15T00:00:00Z')], '2028-02')).toEqual(
      [1392n],
    ); // 696 h
    expect(cents([start('2026-01-15T00:00:00Z'), stop('2026-03-15T00:00:00Z')], '2026-02')).toEqual(
      [1344n],
    ); // 672 h
  });

  it('an interval spanning three months splits into three exact pieces', () => {
    const { closed } = foldUsage([start('2026-01-15T12:00:00Z'), stop('2026-03-10T06:00:00Z')]);
    const pieces = splitAtPeriods(closed[0]);
    expect(pieces.map((p) => [p.period, (p.end - p.start) / 3600, presentCents(p.amount)])).toEqual(
      [
        ['2026-01', 396, 792n],
        ['2026-02', 672, 1344n],
        ['2026-03', 222, 444n],
      ],
    );
    expect(pieces.reduce((s, p) => s + p.amount, 0n)).toBe(intervalAmount(closed[0]));
  });

  it('open usage is billed up to now in the current period and to the end of past periods', () => {
    const facts = [start('2026-01-31T22:00:00Z')];
    expect(cents(facts, '2026-01', '2026-02-01T03:00:00Z')).toEqual([4n]); // up to the end of January
    expect(cents(facts, '2026-02', '2026-02-01T03:00:00Z')).toEqual([6n]); // up to now
    expect(cents(facts, '2026-03', '2026-02-01T03:00:00Z')).toEqual([]); // future
    const { open } = foldUsage(facts);
    const [billed] = billPeriod(
      [],
      open,
      parsePeriod('2026-02'),
      toEpochSeconds('2026-02-01T03:00:00Z'),
    );
    expect(billed.ongoing).toBe(true);
    expect(presentUsageRecord(billed).end).toBe('2026-02-01T03:00:00Z');
  });

  it('summarises a period with the seed shape', () => {
    const facts: UsageFact[] = [
      start('2026-01-01T00:00:00Z'),
      stop('2026-01-11T00:00:00Z'), // 240 h x 0.02 = 4.80
      {
        kind: 'UsageStarted',
        resourceId: 'vol-1',
        meter: 'gb-hours',
        unitPrice: GB_HOUR,
        quantity: 50,
        description: 'Volume',
        at: '2025-12-01T00:00:00Z',
      },
    ];
    const { closed, open } = foldUsage(facts);
    const period = parsePeriod('2026-01');
    const billed = billPeriod(closed, open, period, toEpochSeconds('2026-03-01T00:00:00Z'));
    expect(presentSummary(totalsOf(period, billed))).toEqual({
      period_start: '2026-01-01T00:00:00Z',
      period_end: '2026-01-31T23:59:59Z',
      total_amount: 8.52, // 4.80 + 50 GB x 744 h x 0.0001 = 3.72
      currency: 'USD',
      usage_by_type: { compute: 4.8, storage: 3.72, network: 0 },
    });
  });
});
