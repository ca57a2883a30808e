/**
 * Fixed-window request counters, in process memory: a limit per key per window. Good enough for
 * one API process (the documented deployment); several processes would each allow the limit.
 * Windows that ended are swept as new ones start, so memory stays bounded by the active keys.
 */
export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window resets. */
  resetAtSeconds: number;
  /** Whole seconds until the window resets (>= 1). */
  retryAfterSeconds: number;
}

interface Window {
  startedMs: number;
  count: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweepMs = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  hit(key: string, limit: number): RateLimitVerdict {
    const nowMs = this.now();
    this.sweep(nowMs);
    let window = this.windows.get(key);
    if (!window || nowMs - window.startedMs >= this.windowMs) {
      window = { startedMs: nowMs, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    const resetMs = window.startedMs + this.windowMs;
    return {
      allowed: window.count <= limit,
      limit,
      remaining: Math.max(0, limit - window.count),
      resetAtSeconds: Math.ceil(resetMs / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((resetMs - nowMs) / 1000)),
    };
  }

  /** Forgets every counter. */
  clear(): void {
    this.windows.clear();
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.windowMs) return;
    this.lastSweepMs = nowMs;
    for (const [key, w] of this.windows)
      if (nowMs - w.startedMs >= this.windowMs) this.windows.delete(key);
  }
}

/** The X-RateLimit-* headers of a verdict (and Retry-After when refused). */
export function rateLimitHeaders(v: RateLimitVerdict): Record<string, string> {
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(v.limit),
    'X-RateLimit-Remaining': String(v.remaining),
    'X-RateLimit-Reset': String(v.resetAtSeconds),
  };
  if (!v.allowed) headers['Retry-After'] = String(v.retryAfterSeconds);
  return headers;
}
