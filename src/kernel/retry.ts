/** How often, and how patiently, a failing operation is tried again (exponential backoff). */
export interface RetryPolicy {
  /** Attempts in total, the first one included (1 = no retry). */
  maxAttempts: number;
  /** The wait after the first failed attempt. */
  initialDelayMs: number;
  /** Upper bound of one wait. */
  maxDelayMs: number;
  /** Growth of the wait per further failed attempt (default 2). */
  multiplier?: number;
}

/**
 * The wait after failed attempt `failedAttempt` (1-based): `initialDelayMs × multiplier^(n−1)`,
 * at most `maxDelayMs`. No jitter, so a schedule is a pure function; callers that want jitter
 * draw it within this bound.
 */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  const exponent = Math.min(Math.max(failedAttempt - 1, 0), 52);
  const delay = policy.initialDelayMs * (policy.multiplier ?? 2) ** exponent;
  return Math.min(policy.maxDelayMs, Math.round(delay));
}
