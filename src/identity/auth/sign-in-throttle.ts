import { AppError } from '../../common/errors/app-error';
import {
  decideAttempt,
  isAccountSlowed,
  recordFailure,
  recordSuccess,
  SIGN_IN_THROTTLE_POLICY,
  type AccountRecord,
  type AddressRecord,
  type SignInThrottlePolicy,
} from '../domain/sign-in-throttle';

/** Most (account, address) and account records kept; the least recently touched go first. */
const MAX_RECORDS = 100_000;

/**
 * The counters of sign-in throttling (decisions in domain/sign-in-throttle.ts), in process memory
 * like the request rate limits (one API process). Keyed by the email's lookup hash, known or not,
 * and the client address. A restart forgets them. `clear()` is for tests.
 */
export class SignInThrottle {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly addresses = new Map<string, AddressRecord>();

  constructor(
    private readonly now: () => number,
    private readonly policy: SignInThrottlePolicy = SIGN_IN_THROTTLE_POLICY,
  ) {}

  /** Throws 429 `sign_in_throttled` (Retry-After) when this attempt may not check a password. */
  admit(account: string, address: string | null): void {
    const nowMs = this.now();
    const key = addressKey(account, address);
    const { verdict, address: record } = decideAttempt(
      this.records(account, key),
      nowMs,
      this.policy,
    );
    if (record) touch(this.addresses, key, record);
    else this.addresses.delete(key);
    if (verdict.allowed) return;
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    const why =
      verdict.reason === 'account_slowed'
        ? 'this account has had many failed sign-in attempts; new addresses wait a moment'
        : 'too many failed sign-in attempts from this address';
    throw new AppError(
      'sign_in_throttled',
      `${why}; retry in ${seconds} s`,
      { retry_after_seconds: seconds },
      { 'Retry-After': String(seconds) },
    );
  }

  failed(account: string, address: string | null): void {
    const key = addressKey(account, address);
    const next = recordFailure(this.records(account, key), this.now(), this.policy);
    touch(this.accounts, account, next.account);
    touch(this.addresses, key, next.address);
  }

  succeeded(account: string, address: string | null): void {
    const key = addressKey(account, address);
    const record = recordSuccess(this.records(account, key), this.now(), this.policy);
    if (record) touch(this.addresses, key, record);
    else this.addresses.delete(key);
  }

  /** What an administrator sees of an account: its recent failures and whether it is slowed. */
  accountView(account: string): { failures: number; slowed: boolean } {
    const nowMs = this.now();
    const record = this.accounts.get(account) ?? null;
    const live = record && nowMs - record.lastFailureMs < this.policy.accountWindowMs;
    return {
      failures: live ? record.failures : 0,
      slowed: isAccountSlowed(record, nowMs, this.policy),
    };
  }

  clear(): void {
    this.accounts.clear();
    this.addresses.clear();
  }

  private records(account: string, key: string) {
    return {
      account: this.accounts.get(account) ?? null,
      address: this.addresses.get(key) ?? null,
    };
  }
}

function addressKey(account: string, address: string | null): string {
  return `${account}|${address ?? 'unknown'}`;
}

/** Sets a record as the most recent one, dropping the oldest beyond MAX_RECORDS. */
function touch<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_RECORDS) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
