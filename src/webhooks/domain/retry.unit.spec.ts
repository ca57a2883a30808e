import { describe, expect, it } from 'vitest';
import {
  afterAttempt,
  DEFAULT_RETRY_POLICY,
  isDelivered,
  nextAttempt,
  parseRetryAfter,
  retryDelayBounds,
  validateRetryPolicy,
  type WebhookRetryPolicy,
} from './retry';

const policy: WebhookRetryPolicy = { ...DEFAULT_RETRY_POLICY };

describe('webhook retries', () => {
  it.each([
    [1, 5_000, 10_000],
    [2, 10_000, 20_000],
    [3, 20_000, 40_000],
    [7, 320_000, 640_000],
    [20, 1_800_000, 3_600_000], // capped
    [2000, 1_800_000, 3_600_000],
  ])('after failed attempt %d the wait is within [%d, %d] ms', (attempt, minMs, maxMs) => {
    expect(retryDelayBounds(policy, attempt)).toEqual({ minMs, maxMs });
  });

  it('draws the jitter inside the bounds, from the injected random number', () => {
    expect(nextAttempt(policy, 1, 0)).toEqual({ retry: true, delayMs: 5_000 });
    expect(nextAttempt(policy, 1, 0.999_999_9)).toEqual({ retry: true, delayMs: 10_000 });
    expect(nextAttempt(policy, 3, 0.5)).toEqual({ retry: true, delayMs: 30_000 });
    let seed = 1;
    for (let i = 0; i < 1_000; i++) {
      seed = (seed * 16807) % 2147483647;
      const attempt = 1 + (i % 7);
      const decision = nextAttempt(policy, attempt, seed / 2147483647);
      const { minMs, maxMs } = retryDelayBounds(policy, attempt);
      expect(decision.retry).toBe(true);
      if (decision.retry) {
        expect(decision.delayMs).toBeGreaterThanOrEqual(minMs);
        expect(decision.delayMs).toBeLessThanOrEqual(maxMs);
      }
    }
  });

  it('gives up after the last attempt', () => {
    expect(nextAttempt(policy, policy.maxAttempts - 1, 0).retry).toBe(true);
    expect(nextAttempt(policy, policy.maxAttempts, 0)).toEqual({ retry: false });
  });

  it('honours Retry-After, within the cap', () => {
    expect(nextAttempt(policy, 1, 0, 120)).toEqual({ retry: true, delayMs: 120_000 });
    expect(nextAttempt(policy, 1, 0, 1)).toEqual({ retry: true, delayMs: 5_000 });
    expect(nextAttempt(policy, 1, 0, 86_400)).toEqual({ retry: true, delayMs: 3_600_000 });
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });

  it.each([
    [200, true],
    [204, true],
    [299, true],
    [301, false],
    [400, false],
    [410, false],
    [500, false],
    [null, false],
  ])('status %s delivers: %s', (status, delivered) => {
    expect(isDelivered(status)).toBe(delivered);
  });

  it('disables after N consecutive failed attempts; a success resets the count', () => {
    const small = { ...policy, disableAfterConsecutiveFailures: 3 };
    let health = { consecutiveFailures: 0 };
    const outcomes = [false, false, true, false, false, false];
    const disabled = outcomes.map((delivered) => {
      const next = afterAttempt(small, health, delivered);
      health = next;
      return next.disable;
    });
    expect(disabled).toEqual([false, false, false, false, false, true]);
  });

  it('validates a policy', () => {
    expect(validateRetryPolicy(policy)).toBe(policy);
    expect(() => validateRetryPolicy({ ...policy, maxAttempts: 0 })).toThrow(RangeError);
    expect(() => validateRetryPolicy({ ...policy, maxDelayMs: 1 })).toThrow(RangeError);
  });
});
