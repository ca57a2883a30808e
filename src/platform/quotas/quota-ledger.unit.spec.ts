import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  checkQuota,
  defineQuota,
  effectiveLimits,
  quotaLedgerDecider,
  usageOf,
  type QuotaLedgerEvent,
} from './quota-ledger';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const TENANT = 't-1';
const DEFAULTS = { instances: 2, vcpus: 3, memory_mb: 4096, volumes: 1, buckets: 0 };

const reserve = (holderId: string, amounts: Record<string, number>, holderKind = 'instance') =>
  ({
    type: 'ReserveQuota',
    tenantId: TENANT,
    holderId,
    holderKind,
    amounts,
    defaults: DEFAULTS,
    now: NOW,
  }) as const;

const reserved = (
  holderId: string,
  amounts: Record<string, number>,
  usage: Record<string, number>,
  limits: Record<string, number>,
  previous: Record<string, number> | null = null,
  holderKind = 'instance',
): QuotaLedgerEvent => ({
  type: 'QuotaReserved',
  data: { tenantId: TENANT, holderId, holderKind, amounts, previous, usage, limits, at: AT },
});

const instance = (vcpus: number, memory_mb: number) => ({ instances: 1, vcpus, memory_mb });
const LIMITS3 = { instances: 2, vcpus: 3, memory_mb: 4096 };
const i1 = reserved('i-1', instance(1, 1024), { instances: 1, vcpus: 1, memory_mb: 1024 }, LIMITS3);
const i2 = reserved('i-2', instance(2, 2048), { instances: 2, vcpus: 3, memory_mb: 3072 }, LIMITS3);
const override = (limits: Record<string, number | null>) =>
  ({
    type: 'OverrideQuotaLimits',
    tenantId: TENANT,
    limits,
    defaults: DEFAULTS,
    now: NOW,
  }) as const;

describe('defineQuota', () => {
  it('takes snake_case names and non-negative integer defaults', () => {
    expect(defineQuota({ name: 'elastic_ips', defaultLimit: 5, description: 'x' }).name).toBe(
      'elastic_ips',
    );
    expect(() => defineQuota({ name: 'ElasticIps', defaultLimit: 5, description: 'x' })).toThrow(
      RangeError,
    );
    expect(() => defineQuota({ name: 'ips', defaultLimit: -1, description: 'x' })).toThrow(
      RangeError,
    );
    expect(() => defineQuota({ name: 'ips', defaultLimit: 1.5, description: 'x' })).toThrow(
      RangeError,
    );
  });
});

describe('checkQuota', () => {
  const used = { instances: 1, vcpus: 2 };

  it.each([
    ['within every limit', { instances: 1, vcpus: 1 }],
    ['nothing requested', {}],
    ['a release, even above a lowered limit', { instances: -1, vcpus: -2 }],
  ])('ok: %s', (_label, delta) => {
    expect(checkQuota(used, delta, DEFAULTS)).toEqual({ ok: true });
  });

  it('the first exceeded quota is 403 quota_exceeded with limit, current and requested', () => {
    const result = checkQuota(used, { instances: 1, vcpus: 2 }, DEFAULTS);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('quota_exceeded');
    expect(result.error.status).toBe(403);
    expect(result.error.details).toEqual({
      quota: 'vcpus',
      resource: 'vcpus',
      limit: 3,
      current: 2,
      requested: 2,
    });
    expect(result.error.message).toBe('quota exceeded for vcpus: limit 3, in use 2, requested 2');
  });

  it('a zero limit refuses everything; an undeclared quota is a programming error', () => {
    expect(checkQuota({}, { buckets: 1 }, DEFAULTS).ok).toBe(false);
    expect(() => checkQuota({}, { nosuch: 1 }, DEFAULTS)).toThrow(/not declared/);
  });
});

describe('effectiveLimits', () => {
  it('overrides replace defaults; overrides of undeclared quotas are ignored', () => {
    expect(effectiveLimits({ a: 1, b: 2 }, { b: 5, gone: 9 })).toEqual({ a: 1, b: 5 });
  });
});

describe('quota ledger (stream quota-<tenant>)', () => {
  const s = spec(quotaLedgerDecider);

  it('reserves and records the usage after and the limits checked', () => {
    s.given([])
      .when(reserve('i-1', instance(1, 1024)))
      .then([i1]);
  });

  it('repeating a reservation for the same holder is a no-op', () => {
    s.given([i1])
      .when(reserve('i-1', instance(1, 1024)))
      .then([]);
  });

  it('refuses what would exceed a limit, appending nothing', () => {
    s.given([i1, i2])
      .when(reserve('i-3', instance(1, 1)))
      .thenThrows('quota_exceeded', /instances: limit 2, in use 2/);
    s.given([i1])
      .when(reserve('i-2', instance(3, 1024)))
      .thenThrows('quota_exceeded', /vcpus/);
    s.given([])
      .when(reserve('b-1', { buckets: 1 }, 'bucket'))
      .thenThrows('quota_exceeded', /buckets: limit 0/);
  });

  it('re-reserving with other amounts re-sizes and checks only the difference', () => {
    s.given([i1, i2])
      .when(reserve('i-1', instance(1, 2048)))
      .then([
        reserved(
          'i-1',
          instance(1, 2048),
          { instances: 2, vcpus: 3, memory_mb: 4096 },
          LIMITS3,
          instance(1, 1024),
        ),
      ]);
    s.given([i1, i2])
      .when(reserve('i-1', instance(2, 1024)))
      .thenThrows('quota_exceeded', /vcpus/);
    s.given([i1, i2])
      .when(reserve('i-2', instance(1, 1024)))
      .thenState((st) => {
        expect(usageOf(st)).toEqual({ instances: 2, vcpus: 2, memory_mb: 2048 });
      });
  });

  it('releases what the holder holds, once', () => {
    const release = { type: 'ReleaseQuota', tenantId: TENANT, holderId: 'i-2', now: NOW } as const;
    s.given([i1, i2])
      .when(release)
      .then([
        {
          type: 'QuotaReleased',
          data: {
            tenantId: TENANT,
            holderId: 'i-2',
            holderKind: 'instance',
            amounts: instance(2, 2048),
            at: AT,
          },
        },
      ]);
    s.given([i1]).when(release).then([]);
  });

  it('operators override limits per tenant; null goes back to the default', () => {
    const raised: QuotaLedgerEvent = {
      type: 'QuotaLimitsOverridden',
      data: { tenantId: TENANT, changes: { instances: 3 }, overrides: { instances: 3 }, at: AT },
    };
    s.given([i1, i2])
      .when(override({ instances: 3 }))
      .then([raised]);
    s.given([i1, i2, raised])
      .when(reserve('i-3', instance(0, 0)))
      .thenState((st) => expect(usageOf(st).instances).toBe(3));
    s.given([raised])
      .when(override({ instances: 3 }))
      .then([]);
    s.given([raised])
      .when(override({ instances: null }))
      .then([
        {
          type: 'QuotaLimitsOverridden',
          data: { tenantId: TENANT, changes: { instances: null }, overrides: {}, at: AT },
        },
      ]);
    // Lowering below the usage takes nothing away but refuses the next reservation.
    const lowered: QuotaLedgerEvent = {
      type: 'QuotaLimitsOverridden',
      data: { tenantId: TENANT, changes: { instances: 1 }, overrides: { instances: 1 }, at: AT },
    };
    s.given([i1, i2])
      .when(override({ instances: 1 }))
      .then([lowered]);
    s.given([i1, i2, lowered])
      .when(reserve('i-3', instance(1, 1)))
      .thenThrows('quota_exceeded', /limit 1, in use 2/);
  });

  it('refuses overrides of unknown quotas and impossible limits', () => {
    s.given([])
      .when(override({ nosuch: 1 }))
      .thenThrows('validation_error', /unknown quota nosuch/);
    s.given([])
      .when(override({ instances: -1 }))
      .thenThrows('validation_error');
    s.given([])
      .when(override({ instances: 2.5 }))
      .thenThrows('validation_error');
  });

  it('folds the reservations compute wrote before quotas were a platform service', () => {
    const legacy: QuotaLedgerEvent[] = [
      {
        type: 'InstanceCapacityReserved',
        data: { tenantId: TENANT, instanceId: 'i-1', vcpus: 1, memoryMb: 512 },
      },
      {
        type: 'InstanceCapacityResized',
        data: { tenantId: TENANT, instanceId: 'i-1', to: { vcpus: 2, memoryMb: 1024 } },
      },
      { type: 'VolumeCapacityReserved', data: { tenantId: TENANT, volumeId: 'v-1' } },
      { type: 'VolumeCapacityReserved', data: { tenantId: TENANT, volumeId: 'v-2' } },
      { type: 'VolumeCapacityReleased', data: { tenantId: TENANT, volumeId: 'v-2' } },
    ];
    s.given(legacy)
      .when(reserve('i-1', instance(2, 1024)))
      .thenState((st) => {
        expect(usageOf(st)).toEqual({ instances: 1, vcpus: 2, memory_mb: 1024, volumes: 1 });
        expect(st.holdings['v-1']).toEqual({ kind: 'volume', amounts: { volumes: 1 } });
      });
    s.given(legacy)
      .when({ type: 'ReleaseQuota', tenantId: TENANT, holderId: 'i-1', now: NOW })
      .thenState((st) => expect(usageOf(st)).toEqual({ volumes: 1 }));
  });
});

describe('quota ledger: adjusting a holder by a delta (a bucket stored bytes)', () => {
  const s = spec(quotaLedgerDecider);
  const D = { buckets: 5, stored_bytes: 1000 };
  const adjust = (delta: Record<string, number>, holderId = 'b-1') =>
    ({
      type: 'AdjustQuota',
      tenantId: TENANT,
      holderId,
      holderKind: 'bucket',
      delta,
      defaults: D,
      now: NOW,
    }) as const;
  const bucket = reserved('b-1', { buckets: 1 }, { buckets: 1 }, { buckets: 5 }, null, 'bucket');

  it('adds to what the holder holds, keeping its other amounts', () => {
    s.given([bucket])
      .when(adjust({ stored_bytes: 400 }))
      .then([
        reserved(
          'b-1',
          { buckets: 1, stored_bytes: 400 },
          { buckets: 1, stored_bytes: 400 },
          { buckets: 5, stored_bytes: 1000 },
          { buckets: 1 },
          'bucket',
        ),
      ]);
  });

  it('two adjustments add up (each decided on the ledger state)', () => {
    s.given([bucket])
      .when(adjust({ stored_bytes: 400 }))
      .thenState((st) => expect(usageOf(st)).toEqual({ buckets: 1, stored_bytes: 400 }));
    const after = quotaLedgerDecider.decide(adjust({ stored_bytes: 400 }), {
      ...quotaLedgerDecider.initialState(),
      tenantId: TENANT,
      holdings: { 'b-1': { kind: 'bucket', amounts: { buckets: 1, stored_bytes: 400 } } },
    });
    expect(after[0]).toMatchObject({ data: { amounts: { buckets: 1, stored_bytes: 800 } } });
  });

  it('refuses an increase over the limit, counting every holder (403 quota_exceeded)', () => {
    const other = reserved(
      'b-2',
      { buckets: 1, stored_bytes: 700 },
      { buckets: 2, stored_bytes: 700 },
      { buckets: 5, stored_bytes: 1000 },
      null,
      'bucket',
    );
    expect(() =>
      quotaLedgerDecider.decide(
        adjust({ stored_bytes: 301 }),
        [bucket, other].reduce(quotaLedgerDecider.evolve, quotaLedgerDecider.initialState()),
      ),
    ).toThrow(expect.objectContaining({ code: 'quota_exceeded' }));
    expect(
      quotaLedgerDecider.decide(
        adjust({ stored_bytes: 300 }),
        [bucket, other].reduce(quotaLedgerDecider.evolve, quotaLedgerDecider.initialState()),
      ),
    ).toHaveLength(1);
  });

  it('a negative delta gives bytes back (never below 0), even above a lowered limit', () => {
    const full = reserved(
      'b-1',
      { buckets: 1, stored_bytes: 900 },
      { buckets: 1, stored_bytes: 900 },
      { buckets: 5, stored_bytes: 1000 },
      null,
      'bucket',
    );
    const lowered: QuotaLedgerEvent = {
      type: 'QuotaLimitsOverridden',
      data: {
        tenantId: TENANT,
        changes: { stored_bytes: 10 },
        overrides: { stored_bytes: 10 },
        at: AT,
      },
    };
    s.given([full, lowered])
      .when({ ...adjust({ stored_bytes: -1000 }), defaults: D })
      .thenState((st) => expect(usageOf(st)).toEqual({ buckets: 1, stored_bytes: 0 }));
  });

  it('giving back what a holder does not hold, or a zero delta, appends nothing', () => {
    s.given([])
      .when(adjust({ stored_bytes: -5 }))
      .then([]);
    s.given([bucket])
      .when(adjust({ stored_bytes: 0 }))
      .then([]);
  });
});
