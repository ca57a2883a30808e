import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import {
  INSTANCE_TYPES,
  dockerResourceLimits,
  findInstanceType,
  formatMicroUsd,
  instanceTypeView,
  parseUsd,
  resolveInstanceType,
} from './instance-types';

describe('instance type catalog', () => {
  it('holds the eight types of the issue, in order', () => {
    expect(INSTANCE_TYPES.map((t) => t.id)).toEqual([
      'basic-1',
      'basic-2',
      'basic-4',
      'standard-1',
      'standard-2',
      'standard-4',
      'performance-1',
      'performance-2',
    ]);
  });

  it('serves basic-2 exactly as the seed shows it', () => {
    const view = instanceTypeView(findInstanceType('basic-2')!);
    expect(view).toMatchObject({
      id: 'basic-2',
      name: 'Basic 2',
      vcpus: 1,
      memory_mb: 1024,
      disk_gb: 10,
      network_mbps: 1000,
      price_per_hour: 0.02,
      category: 'general-purpose',
    });
    expect(view.price_per_hour_micro_usd).toBe(20_000);
  });

  it('has sane data: unique ids, integer prices, up to 8 vCPU / 32 GiB, price grows with size', () => {
    expect(new Set(INSTANCE_TYPES.map((t) => t.id)).size).toBe(INSTANCE_TYPES.length);
    for (const t of INSTANCE_TYPES) {
      expect(Number.isSafeInteger(t.pricePerHourMicroUsd) && t.pricePerHourMicroUsd > 0).toBe(true);
      expect(t.vcpus).toBeGreaterThanOrEqual(1);
      expect(t.vcpus).toBeLessThanOrEqual(8);
      expect(t.memoryMb).toBeLessThanOrEqual(32 * 1024);
    }
    expect(Math.max(...INSTANCE_TYPES.map((t) => t.vcpus))).toBe(8);
    expect(Math.max(...INSTANCE_TYPES.map((t) => t.memoryMb))).toBe(32768);
    expect(Object.isFrozen(INSTANCE_TYPES) && Object.isFrozen(INSTANCE_TYPES[0])).toBe(true);
  });

  it.each([
    [undefined, /required/],
    ['', /required/],
    ['huge-64', /unknown instance type "huge-64"/],
  ])('resolveInstanceType(%j) is a 400', (input, message) => {
    let caught: unknown;
    try {
      resolveInstanceType(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('validation_error');
    expect((caught as AppError).message).toMatch(message);
  });
});

describe('money as integer micro-USD', () => {
  it.each([
    [20_000, '0.02'],
    [640_000, '0.64'],
    [1_000_000, '1'],
    [1, '0.000001'],
    [0, '0'],
    [-1_500_000, '-1.5'],
    [123_456_789, '123.456789'],
  ])('formatMicroUsd(%i) = %s and back', (micro, text) => {
    expect(formatMicroUsd(micro)).toBe(text);
    expect(parseUsd(text)).toBe(micro);
  });

  it('refuses fractions of a micro-USD and malformed amounts', () => {
    expect(() => formatMicroUsd(0.5)).toThrow(RangeError);
    expect(() => parseUsd('0.0000001')).toThrow(RangeError);
    expect(() => parseUsd('1e3')).toThrow(RangeError);
  });
});

describe('Docker limits of a type', () => {
  it('maps vCPUs to NanoCpus and MiB to bytes, without swap', () => {
    expect(dockerResourceLimits(findInstanceType('basic-2')!)).toEqual({
      NanoCpus: 1_000_000_000,
      Memory: 1024 * 1024 * 1024,
      MemorySwap: 1024 * 1024 * 1024,
      cpuClamped: false,
    });
    expect(dockerResourceLimits(findInstanceType('performance-2')!).Memory).toBe(32 * 1024 ** 3);
  });

  it('clamps CPUs to the host, which Docker requires, and says so', () => {
    const limits = dockerResourceLimits(findInstanceType('performance-2')!, { hostCpus: 2 });
    expect(limits.NanoCpus).toBe(2_000_000_000);
    expect(limits.cpuClamped).toBe(true);
    expect(dockerResourceLimits(findInstanceType('basic-4')!, { hostCpus: 2 }).cpuClamped).toBe(
      false,
    );
  });
});
