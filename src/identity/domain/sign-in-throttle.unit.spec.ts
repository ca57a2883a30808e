import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  decideAttempt,
  recordFailure,
  recordSuccess,
  SIGN_IN_THROTTLE_POLICY as P,
  type AttemptVerdict,
  type ThrottleRecords,
} from './sign-in-throttle';

/** Given a history of attempts (failures at times), when an attempt comes at `nowMs`, then ... */
type Step = { at: number; outcome: 'failed' | 'succeeded' };

function given(history: Step[], records: ThrottleRecords = { account: null, address: null }) {
  let state = records;
  for (const step of history) {
    const admitted = decideAttempt(state, step.at);
    expect(admitted.verdict, `attempt at ${step.at} ms of the history`).toEqual({ allowed: true });
    state = { ...state, address: admitted.address };
    state =
      step.outcome === 'failed'
        ? recordFailure(state, step.at)
        : { ...state, address: recordSuccess(state, step.at) };
  }
  return {
    records: state,
    whenAttemptAt(nowMs: number): AttemptVerdict {
      return decideAttempt(state, nowMs).verdict;
    },
  };
}

const failuresAt = (...times: number[]): Step[] => times.map((at) => ({ at, outcome: 'failed' }));
/** The records of an account that `n` failures from other addresses have slowed. */
function attackedAccount(n: number, lastFailureMs: number): ThrottleRecords {
  return { account: { failures: n, lastFailureMs }, address: null };
}

describe('sign-in throttle: per account and address, exponential backoff', () => {
  it('given no failures, when an attempt comes, then it may check the password', () => {
    expect(given([]).whenAttemptAt(0)).toEqual({ allowed: true });
  });

  it('given fewer failures than the free allowance, when the next comes at once, then it is allowed', () => {
    expect(given(failuresAt(0, 1)).whenAttemptAt(2)).toEqual({ allowed: true });
  });

  it('given the free failures used, when the next comes at once, then it waits the base delay', () => {
    expect(given(failuresAt(0, 0, 0)).whenAttemptAt(0)).toEqual({
      allowed: false,
      retryAfterMs: P.baseDelayMs,
      reason: 'address_backoff',
    });
    expect(given(failuresAt(0, 0, 0)).whenAttemptAt(P.baseDelayMs)).toEqual({ allowed: true });
  });

  it('given more failures, when the next comes at once, then the wait doubles each time up to the cap', () => {
    const waits: number[] = [];
    const history: Step[] = [];
    let now = 0;
    for (let n = 1; n <= 16; n++) {
      history.push({ at: now, outcome: 'failed' });
      const verdict = given(history).whenAttemptAt(now);
      const wait = verdict.allowed ? 0 : verdict.retryAfterMs;
      waits.push(wait);
      now += wait;
    }
    expect(waits.slice(0, 8)).toEqual([0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(Math.max(...waits)).toBe(P.maxDelayMs);
    expect(waits.at(-1)).toBe(P.maxDelayMs);
  });

  it('given a success, when the address fails again, then its count starts over', () => {
    const history: Step[] = [...failuresAt(0, 0, 0), { at: 1_000, outcome: 'succeeded' }];
    const after = given(history);
    expect(after.records.address).toBeNull();
    expect(after.whenAttemptAt(1_000)).toEqual({ allowed: true });
  });

  it('given failures a day old, when an attempt comes, then they are forgotten', () => {
    const old = given(failuresAt(0, 0, 0, 1_000, 3_000, 7_000));
    expect(old.whenAttemptAt(7_000 + P.forgetAfterMs)).toEqual({ allowed: true });
    expect(recordFailure(old.records, 7_000 + P.forgetAfterMs).address.failures).toBe(1);
  });

  it("given an attacker's failures from address X, when the owner tries from address Y, then Y is not slowed", () => {
    const attacker = given(failuresAt(0, 0, 0, 1_000, 3_000, 7_000));
    expect(attacker.whenAttemptAt(7_000)).toMatchObject({ allowed: false });
    // Y has its own (empty) address record and the account is below the ceiling.
    const owner = decideAttempt({ account: attacker.records.account, address: null }, 7_000);
    expect(owner.verdict).toEqual({ allowed: true });
    expect(owner.address).toBeNull();
  });
});

describe('sign-in throttle: the per-account ceiling slows, never locks', () => {
  const slowedAt = 1_000;

  it('given the ceiling reached from other addresses, when a new address tries, then it waits the admission delay', () => {
    const decision = decideAttempt(attackedAccount(P.accountCeiling, slowedAt), slowedAt);
    expect(decision.verdict).toEqual({
      allowed: false,
      retryAfterMs: P.slowedAdmissionMs,
      reason: 'account_slowed',
    });
    expect(decision.address).toEqual({
      failures: 0,
      lastFailureMs: null,
      admittedAtMs: slowedAt + P.slowedAdmissionMs,
    });
  });

  it('given a new address waiting, when the attack goes on, then its wait does not grow and it is let in on time', () => {
    const first = decideAttempt(attackedAccount(P.accountCeiling, slowedAt), slowedAt);
    let records: ThrottleRecords = {
      ...attackedAccount(P.accountCeiling, slowedAt),
      address: first.address,
    };
    // A thousand more failures from the attacker's addresses while the owner waits.
    const attackEnd = slowedAt + P.slowedAdmissionMs - 1;
    records = {
      ...records,
      account: { failures: P.accountCeiling + 1_000, lastFailureMs: attackEnd },
    };
    expect(decideAttempt(records, attackEnd).verdict).toEqual({
      allowed: false,
      retryAfterMs: 1,
      reason: 'account_slowed',
    });
    expect(decideAttempt(records, slowedAt + P.slowedAdmissionMs).verdict).toEqual({
      allowed: true,
    });
  });

  it('given the account slowed, when an admitted address fails once, then it backs off at once (no free failures)', () => {
    const admittedAt = slowedAt + P.slowedAdmissionMs;
    const records: ThrottleRecords = {
      account: { failures: P.accountCeiling, lastFailureMs: admittedAt },
      address: { failures: 0, lastFailureMs: null, admittedAtMs: admittedAt },
    };
    const afterFailure = recordFailure(records, admittedAt);
    expect(decideAttempt(afterFailure, admittedAt).verdict).toEqual({
      allowed: false,
      retryAfterMs: P.baseDelayMs,
      reason: 'address_backoff',
    });
    expect(backoffDelayMs(1, true)).toBe(P.baseDelayMs);
    expect(backoffDelayMs(1, false)).toBe(0);
  });

  it('given the account slowed, when an admitted address succeeds, then it stays admitted', () => {
    const records: ThrottleRecords = {
      account: { failures: P.accountCeiling, lastFailureMs: slowedAt },
      address: { failures: 0, lastFailureMs: null, admittedAtMs: slowedAt },
    };
    const address = recordSuccess(records, slowedAt + 1);
    expect(address).toEqual({ failures: 0, lastFailureMs: null, admittedAtMs: slowedAt + 1 });
    expect(decideAttempt({ ...records, address }, slowedAt + 2).verdict).toEqual({
      allowed: true,
    });
  });

  it('given the attack stopped for the account window, when a new address tries, then it is not slowed', () => {
    expect(
      decideAttempt(attackedAccount(P.accountCeiling * 10, slowedAt), slowedAt + P.accountWindowMs)
        .verdict,
    ).toEqual({ allowed: true });
  });

  it('given one failure below the ceiling, when a new address tries, then it is allowed', () => {
    expect(
      decideAttempt(attackedAccount(P.accountCeiling - 1, slowedAt), slowedAt).verdict,
    ).toEqual({ allowed: true });
  });
});
