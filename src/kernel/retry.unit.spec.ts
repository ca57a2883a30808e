import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './retry';

describe('retryDelayMs', () => {
  it('doubles from the initial delay and stops at the maximum', () => {
    const policy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(policy, n))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('grows by the multiplier, and stays finite for any attempt count', () => {
    const policy = { maxAttempts: Infinity, initialDelayMs: 10, maxDelayMs: 30_000, multiplier: 3 };
    expect([1, 2, 3].map((n) => retryDelayMs(policy, n))).toEqual([10, 30, 90]);
    expect(retryDelayMs(policy, 10_000)).toBe(30_000);
    expect(retryDelayMs(policy, 0)).toBe(10);
  });
});
