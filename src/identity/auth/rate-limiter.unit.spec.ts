import { describe, expect, it } from 'vitest';
import { RateLimiter, rateLimitHeaders } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows `limit` hits per window and resets when the window ends', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(60_000, () => now);
    const verdicts = Array.from({ length: 6 }, () => limiter.hit('ip:1', 5));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true, true, false]);
    expect(verdicts[4].remaining).toBe(0);
    expect(rateLimitHeaders(verdicts[5])).toEqual({
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(Math.ceil((1_000_000 + 60_000) / 1000)),
      'Retry-After': '60',
    });
    expect(limiter.hit('ip:2', 5).allowed).toBe(true);
    now += 59_000;
    expect(limiter.hit('ip:1', 5)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(limiter.hit('ip:1', 5)).toMatchObject({ allowed: true, remaining: 4 });
  });
});
