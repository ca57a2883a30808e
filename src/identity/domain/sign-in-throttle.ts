/**
 * Sign-in throttling: the decisions, without I/O or clocks of their own.
 *
 * Failed password checks (at POST /auth/login and POST /me/password) are counted per account and
 * client address, and per account. The account is the email's lookup hash, whether or not an
 * account has that email, so an unknown email is throttled exactly like a known one and nothing
 * tells which emails exist. There is no lockout an attacker could turn against the owner:
 *
 * - Per (account, address): the first `freeFailures` failures cost nothing; after that each
 *   attempt waits `baseDelayMs * 2^(failures - freeFailures)` (capped at `maxDelayMs`) after the
 *   last failure, answered 429 with Retry-After before any password is checked. An attacker's
 *   failures slow down the attacker's address only.
 * - Per account, a global ceiling: once `accountCeiling` failures from any addresses fall within
 *   `accountWindowMs` of each other, the account is "slowed": an address with no history of its
 *   own waits `slowedAdmissionMs` from its first attempt (429 with Retry-After) and then gets one
 *   attempt before the backoff starts (no free failures). The wait is counted from that address's
 *   own first attempt, so an attacker cannot stretch it: the owner's correct password from a new
 *   address is accepted once the short wait is over, however hard the account is attacked.
 * - A success forgets the address's failures (not the account's count: the attack goes on).
 *   Counters are forgotten `forgetAfterMs` after their last failure.
 */
export interface SignInThrottlePolicy {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  accountCeiling: number;
  accountWindowMs: number;
  slowedAdmissionMs: number;
  forgetAfterMs: number;
}

export const SIGN_IN_THROTTLE_POLICY: SignInThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  accountCeiling: 20,
  accountWindowMs: 60 * 60_000,
  slowedAdmissionMs: 10_000,
  forgetAfterMs: 24 * 60 * 60_000,
};

/** Failures of one account from one client address. */
export interface AddressRecord {
  failures: number;
  lastFailureMs: number | null;
  /** Set when the address first appeared while the account was slowed: no attempt before it. */
  admittedAtMs: number | null;
}

/** Failures of one account from every address. */
export interface AccountRecord {
  failures: number;
  lastFailureMs: number;
}

export interface ThrottleRecords {
  account: AccountRecord | null;
  address: AddressRecord | null;
}

export type AttemptVerdict =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; reason: 'address_backoff' | 'account_slowed' };

/** The records as they stand at `nowMs` (expired counters forgotten). */
function current(records: ThrottleRecords, nowMs: number, policy: SignInThrottlePolicy) {
  const account =
    records.account && nowMs - records.account.lastFailureMs < policy.accountWindowMs
      ? records.account
      : null;
  const lastSeenMs = records.address?.lastFailureMs ?? records.address?.admittedAtMs ?? null;
  const address =
    records.address && lastSeenMs !== null && nowMs - lastSeenMs < policy.forgetAfterMs
      ? records.address
      : null;
  return { account, address };
}

/** Whether the account is slowed (the global ceiling is reached) at `nowMs`. */
export function isAccountSlowed(
  account: AccountRecord | null,
  nowMs: number,
  policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
): boolean {
  return (
    account !== null &&
    nowMs - account.lastFailureMs < policy.accountWindowMs &&
    account.failures >= policy.accountCeiling
  );
}

/** The wait after `failures` failures from one address before its next attempt. */
export function backoffDelayMs(
  failures: number,
  slowed: boolean,
  policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
): number {
  const threshold = Math.max(slowed ? 0 : policy.freeFailures, 1);
  if (failures < threshold) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures - threshold, 30));
}

/**
 * Whether an attempt may check a password now. The address record to store comes back too: an
 * address first seen while the account is slowed is given its admission time.
 */
export function decideAttempt(
  records: ThrottleRecords,
  nowMs: number,
  policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
): { verdict: AttemptVerdict; address: AddressRecord | null } {
  const { account, address } = current(records, nowMs, policy);
  const slowed = isAccountSlowed(account, nowMs, policy);
  if (slowed && address === null) {
    const admitted: AddressRecord = {
      failures: 0,
      lastFailureMs: null,
      admittedAtMs: nowMs + policy.slowedAdmissionMs,
    };
    return {
      verdict: { allowed: false, retryAfterMs: policy.slowedAdmissionMs, reason: 'account_slowed' },
      address: admitted,
    };
  }
  if (address && address.admittedAtMs !== null && nowMs < address.admittedAtMs) {
    return {
      verdict: {
        allowed: false,
        retryAfterMs: address.admittedAtMs - nowMs,
        reason: 'account_slowed',
      },
      address,
    };
  }
  if (address && address.lastFailureMs !== null) {
    const delay = backoffDelayMs(address.failures, slowed, policy);
    const nextMs = address.lastFailureMs + delay;
    if (delay > 0 && nowMs < nextMs) {
      return {
        verdict: { allowed: false, retryAfterMs: nextMs - nowMs, reason: 'address_backoff' },
        address,
      };
    }
  }
  return { verdict: { allowed: true }, address };
}

/** The records after a failed password check at `nowMs`. */
export function recordFailure(
  records: ThrottleRecords,
  nowMs: number,
  policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
): { account: AccountRecord; address: AddressRecord } {
  const { account, address } = current(records, nowMs, policy);
  return {
    account: { failures: (account?.failures ?? 0) + 1, lastFailureMs: nowMs },
    address: {
      failures: (address?.failures ?? 0) + 1,
      lastFailureMs: nowMs,
      admittedAtMs: address?.admittedAtMs ?? null,
    },
  };
}

/**
 * The address record after a successful sign-in: forgotten, unless the account is slowed (then
 * the address stays admitted, so the owner is not made to wait again on the next sign-in).
 */
export function recordSuccess(
  records: ThrottleRecords,
  nowMs: number,
  policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
): AddressRecord | null {
  const { account } = current(records, nowMs, policy);
  return isAccountSlowed(account, nowMs, policy)
    ? { failures: 0, lastFailureMs: null, admittedAtMs: nowMs }
    : null;
}
