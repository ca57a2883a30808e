import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  DEFAULT_QUOTA_LIMITS,
  checkQuota,
  emptyUsage,
  quotaDecider,
  resolveQuotaLimits,
  usageOf,
  type QuotaEvent,
  type QuotaLimits,
} from './quota';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const TENANT = 't-1';
const LIMITS: QuotaLimits = { instances: 2, vcpus: 3, memoryMb: 4096, volumes: 1 };

describe('quota limits', () => {
  it('defaults are data and tenants override them one by one', () => {
    expect(resolveQuotaLimits()).toEqual(DEFAULT_QUOTA_LIMITS);
    expect(resolveQuotaLimits({ vcpus: 2 })).toEqual({ ...DEFAULT_QUOTA_LIMITS, vcpus: 2 });
    expect(resolveQuotaLimits({ instances: 0 }).instances).toBe(0);
    expect(() => resolveQuotaLimits({ instances: -1 })).toThrow(RangeError);
    expect(() => resolveQuotaLimits({ memoryMb: 1.5 })).toThrow(RangeError);
  });
});

describe('checkQuota', () => {
  const used = { instances: 1, vcpus: 2, memoryMb: 2048, volumes: 1 };

  it.each([
    ['within every limit', { instances: 1, vcpus: 1, memoryMb: 2048 }],
    ['nothing requested', {}],
    ['a release, even above a lowered limit', { instances: -1, vcpus: -2, volumes: -1 }],
  ])('ok: %s', (_label, delta) => {
    expect(checkQuota(used, delta, LIMITS)).toEqual({ ok: true });
  });

  it.each([
    ['instances', { instances: 2 }, { resource: 'instances', limit: 2, current: 1, requested: 2 }],
    [
      'vcpus',
      { instances: 1, vcpus: 2 },
      { resource: 'vcpus', limit: 3, current: 2, requested: 2 },
    ],
    [
      'memory_mb',
      { instances: 1, vcpus: 1, memoryMb: 2049 },
      { resource: 'memory_mb', limit: 4096, current: 2048, requested: 2049 },
    ],
    ['volumes', { volumes: 1 }, { resource: 'volumes', limit: 1, current: 1, requested: 1 }],
  ])(
    'quota_exceeded for %s with limit, current and requested in details',
    (name, delta, details) => {
      const result = checkQuota(used, delta, LIMITS);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('quota_exceeded');
      expect(result.error.status).toBe(403);
      expect(result.error.details).toEqual(details);
      expect(result.error.message).toContain(`quota exceeded for ${name}`);
    },
  );

  it('a zero limit refuses everything', () => {
    expect(checkQuota(emptyUsage(), { instances: 1 }, { ...LIMITS, instances: 0 }).ok).toBe(false);
  });
});

describe('quota decider (stream quota-<tenant>)', () => {
  const s = spec(quotaDecider);
  const reserve = (instanceId: string, vcpus = 1, memoryMb = 1024) =>
    ({
      type: 'ReserveInstanceCapacity',
      tenantId: TENANT,
      instanceId,
      vcpus,
      memoryMb,
      limits: LIMITS,
      now: NOW,
    }) as const;
  const reserved = (
    instanceId: string,
    vcpus: number,
    memoryMb: number,
    usage: object,
  ): QuotaEvent => ({
    type: 'InstanceCapacityReserved',
    data: {
      tenantId: TENANT,
      instanceId,
      vcpus,
      memoryMb,
      usage: { volumes: 0, ...usage } as never,
      limits: LIMITS,
      at: AT,
    },
  });
  const i1 = reserved('i-1', 1, 1024, { instances: 1, vcpus: 1, memoryMb: 1024 });
  const i2 = reserved('i-2', 2, 2048, { instances: 2, vcpus: 3, memoryMb: 3072 });

  it('reserves capacity and records usage after and the limits checked', () => {
    s.given([]).when(reserve('i-1')).then([i1]);
  });

  it('repeating a reservation for the same instance is a no-op (saga re-runs its step)', () => {
    s.given([i1]).when(reserve('i-1')).then([]);
  });

  it('refuses what would exceed a limit', () => {
    s.given([i1, i2])
      .when(reserve('i-3'))
      .thenThrows('quota_exceeded', /instances: limit 2, in use 2/);
    s.given([i1])
      .when(reserve('i-2', 3, 1024))
      .thenThrows('quota_exceeded', /vcpus/);
  });

  it('re-reserving with other amounts resizes and checks only the difference', () => {
    s.given([i1, i2])
      .when(reserve('i-1', 1, 2048))
      .then([
        {
          type: 'InstanceCapacityResized',
          data: {
            tenantId: TENANT,
            instanceId: 'i-1',
            from: { vcpus: 1, memoryMb: 1024 },
            to: { vcpus: 1, memoryMb: 2048 },
            usage: { instances: 2, vcpus: 3, memoryMb: 4096, volumes: 0 },
            limits: LIMITS,
            at: AT,
          },
        },
      ]);
    s.given([i1, i2])
      .when(reserve('i-1', 2, 1024))
      .thenThrows('quota_exceeded', /vcpus/);
    // Shrinking is always allowed.
    s.given([i1, i2])
      .when(reserve('i-2', 1, 1024))
      .thenState((st) => {
        expect(usageOf(st)).toEqual({ instances: 2, vcpus: 2, memoryMb: 2048, volumes: 0 });
      });
  });

  it('releases what was reserved, once', () => {
    const release = {
      type: 'ReleaseInstanceCapacity',
      tenantId: TENANT,
      instanceId: 'i-2',
      now: NOW,
    } as const;
    s.given([i1, i2])
      .when(release)
      .then([
        {
          type: 'InstanceCapacityReleased',
          data: {
            tenantId: TENANT,
            instanceId: 'i-2',
            vcpus: 2,
            memoryMb: 2048,
            usage: { instances: 1, vcpus: 1, memoryMb: 1024, volumes: 0 },
            at: AT,
          },
        },
      ]);
    s.given([i1]).when(release).then([]);
    s.given([i1, i2])
      .when(release)
      .thenState((st) => {
        expect(Object.keys(st.instances)).toEqual(['i-1']);
      });
  });

  it('volumes: reserve once, refuse over the limit, release once', () => {
    const reserveVolume = (volumeId: string) =>
      ({
        type: 'ReserveVolumeCapacity',
        tenantId: TENANT,
        volumeId,
        limits: LIMITS,
        now: NOW,
      }) as const;
    const v1: QuotaEvent = {
      type: 'VolumeCapacityReserved',
      data: {
        tenantId: TENANT,
        volumeId: 'v-1',
        usage: { ...emptyUsage(), volumes: 1 },
        limits: LIMITS,
        at: AT,
      },
    };
    s.given([]).when(reserveVolume('v-1')).then([v1]);
    s.given([v1]).when(reserveVolume('v-1')).then([]);
    s.given([v1])
      .when(reserveVolume('v-2'))
      .thenThrows('quota_exceeded', /volumes/);
    const release = {
      type: 'ReleaseVolumeCapacity',
      tenantId: TENANT,
      volumeId: 'v-1',
      now: NOW,
    } as const;
    s.given([v1])
      .when(release)
      .then([
        {
          type: 'VolumeCapacityReleased',
          data: { tenantId: TENANT, volumeId: 'v-1', usage: emptyUsage(), at: AT },
        },
      ]);
    s.given([]).when(release).then([]);
  });

  it('rejects nonsense amounts', () => {
    s.given([])
      .when(reserve('i-1', 0, 1024))
      .thenThrows('validation_error');
  });
});
