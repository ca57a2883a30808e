import { retryDelayMs, type RetryPolicy } from '../../kernel/retry';

/**
 * Delivery retries and auto-disable, as pure functions of the attempt count and an injected random
 * number (so the dispatcher stays deterministic under test).
 *
 * - A delivery is attempted up to `maxAttempts` times. Any 2xx is delivered; anything else (other
 *   status, timeout, connection error) is a failed attempt. Redirects are not followed (they could
 *   lead to a refused address) and count as failures.
 * - After failed attempt n (1-based) the next one waits an exponential delay with "equal jitter":
 *   `cap = min(maxDelayMs, initialDelayMs × 2^(n−1))`, delay uniformly in `[cap/2, cap]`. A
 *   `Retry-After` from the receiver raises the delay to at least that much (still capped).
 * - A webhook is disabled after `disableAfterConsecutiveFailures` failed attempts in a row, across
 *   deliveries; any delivered attempt resets the count.
 */

export interface WebhookRetryPolicy extends RetryPolicy {
  disableAfterConsecutiveFailures: number;
  /** How long one attempt may take before it counts as failed. */
  attemptTimeoutMs: number;
}

/**
 * Eight attempts; the waits after failed attempts 1..7 are 5–10 s, 10–20 s, 20–40 s, 40–80 s,
 * 80–160 s, 160–320 s and 320–640 s (at most about 21 minutes from first to last attempt).
 */
export const DEFAULT_RETRY_POLICY: WebhookRetryPolicy = Object.freeze({
  maxAttempts: 8,
  initialDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  disableAfterConsecutiveFailures: 20,
  attemptTimeoutMs: 10_000,
});

export function validateRetryPolicy(policy: WebhookRetryPolicy): WebhookRetryPolicy {
  const positive = (name: Exclude<keyof WebhookRetryPolicy, 'multiplier'>) => {
    const value = policy[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  };
  positive('maxAttempts');
  positive('initialDelayMs');
  positive('maxDelayMs');
  positive('disableAfterConsecutiveFailures');
  positive('attemptTimeoutMs');
  if (policy.maxDelayMs < policy.initialDelayMs)
    throw new RangeError('maxDelayMs < initialDelayMs');
  return policy;
}

/** Whether an HTTP status delivers; `null` stands for no response (timeout, refused...). */
export function isDelivered(status: number | null): boolean {
  return status !== null && status >= 200 && status <= 299;
}

/** The bounds of the wait after failed attempt `attempt` (1-based). */
export function retryDelayBounds(
  policy: WebhookRetryPolicy,
  attempt: number,
): { minMs: number; maxMs: number } {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be ≥ 1, got ${attempt}`);
  const cap = retryDelayMs(policy, attempt);
  return { minMs: Math.ceil(cap / 2), maxMs: cap };
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * What follows failed attempt `attempt`: another attempt after `delayMs`, or giving up.
 * `random` is uniform in [0, 1) (Math.random in production, fixed in tests).
 */
export function nextAttempt(
  policy: WebhookRetryPolicy,
  attempt: number,
  random: number,
  retryAfterSeconds: number | null = null,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { retry: false };
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0, 1), got ${random}`);
  const { minMs, maxMs } = retryDelayBounds(policy, attempt);
  let delayMs = minMs + Math.floor(random * (maxMs - minMs + 1));
  if (retryAfterSeconds !== null && Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0) {
    delayMs = Math.max(delayMs, Math.min(policy.maxDelayMs, Math.ceil(retryAfterSeconds * 1000)));
  }
  return { retry: true, delayMs };
}

/** Parses a `Retry-After` header in seconds (HTTP dates are ignored: the receiver's clock may lie). */
export function parseRetryAfter(header: string | undefined | null): number | null {
  if (!header || !/^\d{1,9}$/.test(header.trim())) return null;
  return Number(header.trim());
}

export interface WebhookHealth {
  consecutiveFailures: number;
}

/** The webhook's health after one attempt; `disable` is true once the threshold is reached. */
export function afterAttempt(
  policy: WebhookRetryPolicy,
  health: WebhookHealth,
  delivered: boolean,
): WebhookHealth & { disable: boolean } {
  if (delivered) return { consecutiveFailures: 0, disable: false };
  const consecutiveFailures = health.consecutiveFailures + 1;
  return {
    consecutiveFailures,
    disable: consecutiveFailures >= policy.disableAfterConsecutiveFailures,
  };
}
