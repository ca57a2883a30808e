import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { hashOpaqueToken } from '../crypto/opaque-tokens';
import {
  RESET_TOKEN_TTL_MS,
  sessionKeyOfRefreshToken,
  userDecider,
  userRejection,
  type Login,
  type UserCommand,
  type UserEvent,
} from './user';

const userId = '0b6f3a3e-2d7c-4c1e-9f5e-1a2b3c4d5e6f';
const tenantId = '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const t0 = new Date('2026-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

const registered: UserEvent = {
  type: 'UserRegistered',
  data: {
    userId,
    emailLookupHash: 'lookup-hash',
    email: 'pii1.aaa.bbb.ccc',
    name: 'pii1.ddd.eee.fff',
    passwordHash: '$scrypt$ln=15,r=8,p=1$salt$hash',
    defaultTenantId: tenantId,
    registeredAt: t0.toISOString(),
  },
};

const register: UserCommand = {
  type: 'RegisterUser',
  userId,
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  encryptedEmail: 'pii1.aaa.bbb.ccc',
  encryptedName: 'pii1.ddd.eee.fff',
  emailLookupHash: 'lookup-hash',
  passwordHash: '$scrypt$ln=15,r=8,p=1$salt$hash',
  defaultTenantId: tenantId,
  now: t0,
};

function login(passwordVerified: boolean, now: Date, n = 1): Login {
  return {
    type: 'Login',
    passwordVerified,
    session: {
      familyId: `family-${n}`,
      tokenId: `token-${n}-1`,
      tokenHash: hashOpaqueToken(`rt-${n}-1`),
      expiresAt: at(30 * DAY),
      sessionKeyId: `key-${n}`,
    },
    now,
  };
}

function failed(consecutiveFailures: number, when: Date): UserEvent {
  return { type: 'LoginFailed', data: { userId, consecutiveFailures, at: when.toISOString() } };
}

function fold(history: UserEvent[]) {
  return history.reduce(userDecider.evolve, userDecider.initialState());
}

const issued = (
  familyId: string,
  tokenId: string,
  secret: string,
  when: Date,
  expiresAt = at(30 * DAY),
  sessionKeyId: string | null = `key-${familyId}`,
): UserEvent => ({
  type: 'RefreshTokenIssued',
  data: {
    userId,
    familyId,
    tokenId,
    tokenHash: hashOpaqueToken(secret),
    expiresAt: expiresAt.toISOString(),
    sessionKeyId,
    at: when.toISOString(),
  },
});

const rotated = (familyId: string, tokenId: string, replacedBy: string, when: Date): UserEvent => ({
  type: 'RefreshTokenRotated',
  data: { userId, familyId, tokenId, replacedBy, at: when.toISOString() },
});

describe('user: RegisterUser', () => {
  it('records ciphertexts, lookup hash and password hash, never plaintext', () => {
    spec(userDecider).given([]).when(register).then([registered]);
    spec(userDecider)
      .given([])
      .when(register)
      .thenState((state, events) => {
        expect(JSON.stringify(events)).not.toContain('ada@example.com');
        expect(JSON.stringify(events)).not.toContain('Ada Lovelace');
        expect(state.status).toBe('active');
        expect(state.defaultTenantId).toBe(tenantId);
        expect(state.sessionVersion).toBe(1);
      });
  });

  it('rejects an existing user', () => {
    spec(userDecider).given([registered]).when(register).thenThrows('conflict');
  });

  it.each([
    ['not normalised', { email: 'Ada@Example.com' }, /email/],
    ['not an email', { email: 'ada.example.com' }, /email/],
    ['empty name', { name: '   ' }, /name/],
    ['name too long', { name: 'x'.repeat(101) }, /name/],
  ])('rejects %s', (_label, patch, message) => {
    spec(userDecider)
      .given([])
      .when({ ...register, ...patch })
      .thenThrows('validation_error', message);
  });
});

describe('user: Login and lockout', () => {
  it('a success issues a refresh-token family and resets the failure count', () => {
    spec(userDecider)
      .given([registered, failed(1, t0), failed(2, t0)])
      .when(login(true, at(MIN)))
      .thenState((state, events) => {
        expect(events.map((e) => e.type)).toEqual(['LoginSucceeded', 'RefreshTokenIssued']);
        expect(state.consecutiveFailures).toBe(0);
        expect(state.refreshTokens).toHaveLength(1);
        expect(state.refreshTokens[0]).toMatchObject({
          familyId: 'family-1',
          status: 'active',
          sessionKeyId: 'key-1',
        });
        expect(userRejection(events)).toBeNull();
      });
  });

  it('records a failure and answers 401 unauthorized', () => {
    spec(userDecider)
      .given([registered, failed(1, t0)])
      .when(login(false, at(MIN)))
      .thenState((state, events) => {
        expect(events).toEqual([failed(2, at(MIN))]);
        expect(state.consecutiveFailures).toBe(2);
        expect(userRejection(events)?.code).toBe('unauthorized');
      });
  });

  const fiveFailures = [
    registered,
    failed(1, t0),
    failed(2, t0),
    failed(3, t0),
    failed(4, t0),
    failed(5, t0),
  ];

  it('failures lock nothing: the sixth failure is one more LoginFailed, the right password still signs in', () => {
    spec(userDecider)
      .given(fiveFailures)
      .when(login(false, at(MIN)))
      .then([failed(6, at(MIN))]);
    spec(userDecider)
      .given(fiveFailures)
      .when(login(true, at(MIN)))
      .thenState((state, events) => {
        expect(events[0].type).toBe('LoginSucceeded');
        expect(state.consecutiveFailures).toBe(0);
      });
  });

  it('an AccountLocked written by an earlier version no longer blocks a sign-in', () => {
    const legacyLock: UserEvent = {
      type: 'AccountLocked',
      data: { userId, until: at(15 * MIN).toISOString(), at: t0.toISOString() },
    };
    spec(userDecider)
      .given([...fiveFailures, legacyLock])
      .when(login(true, at(MIN)))
      .thenState((_state, events) => expect(events[0].type).toBe('LoginSucceeded'));
  });

  it('upgrades an outdated password hash on success', () => {
    spec(userDecider)
      .given([registered])
      .when({ ...login(true, at(MIN)), upgradedPasswordHash: '$scrypt$ln=16,r=8,p=1$s$h' })
      .thenState((state, events) => {
        expect(events.map((e) => e.type)).toContain('PasswordHashUpgraded');
        expect(state.passwordHash).toBe('$scrypt$ln=16,r=8,p=1$s$h');
      });
  });

  it('an unknown or erased user cannot log in (401)', () => {
    spec(userDecider).given([]).when(login(true, t0)).thenThrows('unauthorized');
    spec(userDecider)
      .given([registered, { type: 'UserErased', data: { userId, at: t0.toISOString() } }])
      .when(login(true, t0))
      .thenThrows('unauthorized');
  });
});

describe('user: refresh-token rotation and reuse detection', () => {
  const familyStarted = [registered, issued('f1', 'a', 'secret-a', t0)];

  it('rotates: the presented token is retired and a new one issued in the same family', () => {
    spec(userDecider)
      .given(familyStarted)
      .when({
        type: 'RefreshSession',
        presentedTokenHash: hashOpaqueToken('secret-a'),
        next: { tokenId: 'b', tokenHash: hashOpaqueToken('secret-b'), expiresAt: at(31 * DAY) },
        now: at(MIN),
      })
      .then([
        rotated('f1', 'a', 'b', at(MIN)),
        issued('f1', 'b', 'secret-b', at(MIN), at(31 * DAY)),
      ]);
  });

  const afterRotation = [
    ...familyStarted,
    rotated('f1', 'a', 'b', at(MIN)),
    issued('f1', 'b', 'secret-b', at(MIN)),
  ];
  const refreshWith = (secret: string, now: Date): UserCommand => ({
    type: 'RefreshSession',
    presentedTokenHash: hashOpaqueToken(secret),
    next: {
      tokenId: `next-${secret}`,
      tokenHash: hashOpaqueToken(`next-${secret}`),
      expiresAt: at(40 * DAY),
    },
    now,
  });

  it('replaying a rotated token revokes the whole family and answers 401', () => {
    spec(userDecider)
      .given(afterRotation)
      .when(refreshWith('secret-a', at(2 * MIN)))
      .thenState((state, events) => {
        expect(events).toEqual([
          {
            type: 'RefreshTokenFamilyRevoked',
            data: {
              userId,
              familyId: 'f1',
              reason: 'reuse_detected',
              sessionKeyId: 'key-f1',
              at: at(2 * MIN).toISOString(),
            },
          },
        ]);
        expect(userRejection(events)?.code).toBe('unauthorized');
        expect(state.refreshTokens.every((t) => t.status === 'revoked')).toBe(true);
      });
  });

  it('after reuse detection the legitimate newest token is dead too', () => {
    const revoked: UserEvent = {
      type: 'RefreshTokenFamilyRevoked',
      data: { userId, familyId: 'f1', reason: 'reuse_detected', at: at(2 * MIN).toISOString() },
    };
    spec(userDecider)
      .given([...afterRotation, revoked])
      .when(refreshWith('secret-b', at(3 * MIN)))
      .thenThrows('unauthorized');
    spec(userDecider)
      .given([...afterRotation, revoked])
      .when(refreshWith('secret-a', at(3 * MIN)))
      .thenThrows('unauthorized');
  });

  it('reuse in one family leaves the other families alone', () => {
    const twoFamilies = [...afterRotation, issued('f2', 'x', 'secret-x', at(MIN))];
    const state = fold([
      ...twoFamilies,
      ...userDecider.decide(refreshWith('secret-a', at(2 * MIN)), fold(twoFamilies)),
    ]);
    expect(state.refreshTokens.find((t) => t.tokenId === 'x')?.status).toBe('active');
  });

  it('rejects unknown and expired tokens without events', () => {
    spec(userDecider)
      .given(familyStarted)
      .when(refreshWith('never-issued', at(MIN)))
      .thenThrows('unauthorized');
    spec(userDecider)
      .given(familyStarted)
      .when(refreshWith('secret-a', at(30 * DAY)))
      .thenThrows('unauthorized');
  });

  it('expired tokens are forgotten when a new one is issued', () => {
    const state = fold([
      ...familyStarted,
      issued('f2', 'y', 'secret-y', at(31 * DAY), at(60 * DAY)),
    ]);
    expect(state.refreshTokens.map((t) => t.tokenId)).toEqual(['y']);
  });

  it('logout revokes the family of the presented token; an unknown token is a no-op', () => {
    spec(userDecider)
      .given(afterRotation)
      .when({ type: 'Logout', presentedTokenHash: hashOpaqueToken('secret-b'), now: at(5 * MIN) })
      .then([
        {
          type: 'RefreshTokenFamilyRevoked',
          data: {
            userId,
            familyId: 'f1',
            reason: 'logout',
            sessionKeyId: 'key-f1',
            at: at(5 * MIN).toISOString(),
          },
        },
      ]);
    spec(userDecider)
      .given(afterRotation)
      .when({ type: 'Logout', presentedTokenHash: hashOpaqueToken('nope'), now: at(5 * MIN) })
      .then([]);
  });
});

describe('user: session API keys of refresh-token families', () => {
  it('a rotated token keeps its family key; after logout the key is still found (repeated logout)', () => {
    const history: UserEvent[] = [
      registered,
      issued('f1', 'a', 'secret-a', t0),
      rotated('f1', 'a', 'b', at(MIN)),
      issued('f1', 'b', 'secret-b', at(MIN)),
      {
        type: 'RefreshTokenFamilyRevoked',
        data: {
          userId,
          familyId: 'f1',
          reason: 'logout',
          sessionKeyId: 'key-f1',
          at: at(2 * MIN).toISOString(),
        },
      },
    ];
    const state = fold(history);
    expect(sessionKeyOfRefreshToken(state, hashOpaqueToken('secret-a'))).toBe('key-f1');
    expect(sessionKeyOfRefreshToken(state, hashOpaqueToken('secret-b'))).toBe('key-f1');
    expect(sessionKeyOfRefreshToken(state, hashOpaqueToken('other'))).toBeNull();
    // A second logout appends nothing; the handler still revokes the key it finds.
    spec(userDecider)
      .given(history)
      .when({ type: 'Logout', presentedTokenHash: hashOpaqueToken('secret-b'), now: at(3 * MIN) })
      .then([]);
  });

  it('events written before keys were recorded: the family has no key, rotations inherit it', () => {
    const old: UserEvent = {
      type: 'RefreshTokenIssued',
      data: {
        userId,
        familyId: 'f0',
        tokenId: 'o',
        tokenHash: hashOpaqueToken('secret-o'),
        expiresAt: at(30 * DAY).toISOString(),
        at: t0.toISOString(),
      },
    };
    expect(sessionKeyOfRefreshToken(fold([registered, old]), hashOpaqueToken('secret-o'))).toBe(
      null,
    );
    const inherited = fold([
      registered,
      issued('f1', 'a', 'secret-a', t0),
      {
        ...old,
        data: { ...old.data, familyId: 'f1', tokenId: 'c', tokenHash: hashOpaqueToken('secret-c') },
      },
    ]);
    expect(sessionKeyOfRefreshToken(inherited, hashOpaqueToken('secret-c'))).toBe('key-f1');
  });
});

describe('user: passwords and sessions', () => {
  it('ChangePassword records the new hash and revokes every session', () => {
    spec(userDecider)
      .given([registered, issued('f1', 'a', 'secret-a', t0)])
      .when({
        type: 'ChangePassword',
        currentPasswordVerified: true,
        newPasswordHash: 'new-hash',
        now: at(MIN),
      })
      .thenState((state, events) => {
        expect(events).toEqual([
          {
            type: 'PasswordChanged',
            data: { userId, passwordHash: 'new-hash', at: at(MIN).toISOString() },
          },
          {
            type: 'SessionsRevoked',
            data: {
              userId,
              sessionVersion: 2,
              reason: 'password_changed',
              at: at(MIN).toISOString(),
            },
          },
        ]);
        expect(state.sessionVersion).toBe(2);
        expect(state.refreshTokens[0].status).toBe('revoked');
      });
  });

  it("ChangePassword with the caller's new session: every other family revoked, the new one live", () => {
    spec(userDecider)
      .given([registered, issued('f1', 'a', 'secret-a', t0)])
      .when({
        type: 'ChangePassword',
        currentPasswordVerified: true,
        newPasswordHash: 'new-hash',
        session: {
          familyId: 'f2',
          tokenId: 'n',
          tokenHash: hashOpaqueToken('secret-n'),
          expiresAt: at(30 * DAY),
          sessionKeyId: 'key-f2',
        },
        now: at(MIN),
      })
      .thenState((state, events) => {
        expect(events.map((e) => e.type)).toEqual([
          'PasswordChanged',
          'SessionsRevoked',
          'RefreshTokenIssued',
        ]);
        expect(events[2]).toEqual(issued('f2', 'n', 'secret-n', at(MIN), at(30 * DAY)));
        expect(state.sessionVersion).toBe(2);
        expect(state.refreshTokens.map((t) => [t.familyId, t.status])).toEqual([
          ['f1', 'revoked'],
          ['f2', 'active'],
        ]);
      });
  });

  it('a wrong current password counts as a failed sign-in (recorded, 401), and locks nothing', () => {
    const wrong: UserCommand = {
      type: 'ChangePassword',
      currentPasswordVerified: false,
      newPasswordHash: '',
      now: at(MIN),
    };
    spec(userDecider)
      .given([registered])
      .when(wrong)
      .thenState((state, events) => {
        expect(events).toEqual([failed(1, at(MIN))]);
        expect(userRejection(events)?.code).toBe('unauthorized');
        expect(state.passwordHash).toBe(registered.data.passwordHash);
      });
    spec(userDecider)
      .given([registered, failed(1, t0), failed(2, t0), failed(3, t0), failed(4, t0)])
      .when(wrong)
      .then([failed(5, at(MIN))]);
  });

  it('RevokeSessions bumps the session version', () => {
    spec(userDecider)
      .given([registered])
      .when({ type: 'RevokeSessions', reason: 'user_request', now: at(MIN) })
      .then([
        {
          type: 'SessionsRevoked',
          data: { userId, sessionVersion: 2, reason: 'user_request', at: at(MIN).toISOString() },
        },
      ]);
  });

  it('commands on an unknown user are not_found', () => {
    spec(userDecider)
      .given([])
      .when({
        type: 'ChangePassword',
        currentPasswordVerified: true,
        newPasswordHash: 'h',
        now: t0,
      })
      .thenThrows('not_found');
    spec(userDecider)
      .given([])
      .when({ type: 'IssueResetToken', tokenId: 'r', tokenHash: 'h', now: t0 })
      .thenThrows('not_found');
    spec(userDecider)
      .given([])
      .when({ type: 'RevokeSessions', reason: 'user_request', now: t0 })
      .thenThrows('not_found');
  });
});

describe('user: password reset tokens', () => {
  const resetIssued: UserEvent = {
    type: 'ResetTokenIssued',
    data: {
      userId,
      tokenId: 'r1',
      tokenHash: hashOpaqueToken('reset-1'),
      expiresAt: at(RESET_TOKEN_TTL_MS).toISOString(),
      at: t0.toISOString(),
    },
  };
  const reset = (token: string, now: Date): UserCommand => ({
    type: 'ResetPassword',
    tokenHash: hashOpaqueToken(token),
    newPasswordHash: 'reset-hash',
    now,
  });

  it('issues a token that expires after 30 minutes', () => {
    spec(userDecider)
      .given([registered])
      .when({
        type: 'IssueResetToken',
        tokenId: 'r1',
        tokenHash: hashOpaqueToken('reset-1'),
        now: t0,
      })
      .then([resetIssued]);
  });

  it('records nothing while three unexpired tokens are outstanding', () => {
    const issuedAt = (n: number, when: Date): UserEvent => ({
      type: 'ResetTokenIssued',
      data: {
        userId,
        tokenId: `r${n}`,
        tokenHash: hashOpaqueToken(`reset-${n}`),
        expiresAt: new Date(when.getTime() + RESET_TOKEN_TTL_MS).toISOString(),
        at: when.toISOString(),
      },
    });
    const three = [registered, issuedAt(1, t0), issuedAt(2, at(MIN)), issuedAt(3, at(2 * MIN))];
    const request = (now: Date): UserCommand => ({
      type: 'IssueResetToken',
      tokenId: 'r4',
      tokenHash: 'h4',
      now,
    });
    spec(userDecider)
      .given(three)
      .when(request(at(3 * MIN)))
      .then([]);
    spec(userDecider)
      .given(three)
      .when(request(at(RESET_TOKEN_TTL_MS)))
      .thenState((state, events) => {
        expect(events).toHaveLength(1);
        expect(state.resetTokens.map((t) => t.tokenId)).toEqual(['r2', 'r3', 'r4']);
      });
  });

  it('a valid token resets the password, revokes sessions and resets the failure count', () => {
    const lockedHistory: UserEvent[] = [
      registered,
      resetIssued,
      {
        type: 'AccountLocked',
        data: { userId, until: at(15 * MIN).toISOString(), at: t0.toISOString() },
      },
    ];
    spec(userDecider)
      .given(lockedHistory)
      .when(reset('reset-1', at(MIN)))
      .thenState((state, events) => {
        expect(events).toEqual([
          {
            type: 'PasswordReset',
            data: { userId, passwordHash: 'reset-hash', tokenId: 'r1', at: at(MIN).toISOString() },
          },
          {
            type: 'SessionsRevoked',
            data: {
              userId,
              sessionVersion: 2,
              reason: 'password_reset',
              at: at(MIN).toISOString(),
            },
          },
        ]);
        expect(state.passwordHash).toBe('reset-hash');
        expect(state.consecutiveFailures).toBe(0);
        expect(state.resetTokens).toEqual([]);
      });
  });

  it('is single-use', () => {
    const used: UserEvent = {
      type: 'PasswordReset',
      data: { userId, passwordHash: 'reset-hash', tokenId: 'r1', at: at(MIN).toISOString() },
    };
    spec(userDecider)
      .given([registered, resetIssued, used])
      .when(reset('reset-1', at(2 * MIN)))
      .thenThrows('validation_error', /invalid or has expired/);
  });

  it('expires after 30 minutes', () => {
    spec(userDecider)
      .given([registered, resetIssued])
      .when(reset('reset-1', at(RESET_TOKEN_TTL_MS - 1)))
      .thenState((_s, events) => {
        expect(events[0].type).toBe('PasswordReset');
      });
    spec(userDecider)
      .given([registered, resetIssued])
      .when(reset('reset-1', at(RESET_TOKEN_TTL_MS)))
      .thenThrows('validation_error');
  });

  it('an unknown token, or any token of an unknown user, is the same validation error', () => {
    spec(userDecider)
      .given([registered, resetIssued])
      .when(reset('made-up', at(MIN)))
      .thenThrows('validation_error', /invalid or has expired/);
    spec(userDecider)
      .given([])
      .when(reset('reset-1', at(MIN)))
      .thenThrows('validation_error', /invalid or has expired/);
  });

  it('a password change kills outstanding reset tokens', () => {
    const changed: UserEvent = {
      type: 'PasswordChanged',
      data: { userId, passwordHash: 'x', at: at(MIN).toISOString() },
    };
    spec(userDecider)
      .given([registered, resetIssued, changed])
      .when(reset('reset-1', at(2 * MIN)))
      .thenThrows('validation_error');
  });
});

describe('user: default tenant and erasure', () => {
  it('switches the default tenant; switching to the current one is a no-op', () => {
    const other = '11111111-2222-4333-8444-555555555555';
    spec(userDecider)
      .given([registered])
      .when({ type: 'SwitchDefaultTenant', tenantId: other, now: t0 })
      .then([
        { type: 'DefaultTenantChanged', data: { userId, tenantId: other, at: t0.toISOString() } },
      ]);
    spec(userDecider)
      .given([registered])
      .when({ type: 'SwitchDefaultTenant', tenantId, now: t0 })
      .then([]);
  });

  it('erasure marks the user erased, forgets credentials and ends sessions; a second erasure is a no-op', () => {
    const erased: UserEvent = { type: 'UserErased', data: { userId, at: at(MIN).toISOString() } };
    spec(userDecider)
      .given([registered, issued('f1', 'a', 'secret-a', t0)])
      .when({ type: 'EraseUser', now: at(MIN) })
      .thenState((state, events) => {
        expect(events).toEqual([erased]);
        expect(state).toMatchObject({
          status: 'erased',
          passwordHash: null,
          refreshTokens: [],
          sessionVersion: 2,
        });
      });
    spec(userDecider)
      .given([registered, erased])
      .when({ type: 'EraseUser', now: at(2 * MIN) })
      .then([]);
    spec(userDecider)
      .given([registered, erased])
      .when({ type: 'SwitchDefaultTenant', tenantId, now: t0 })
      .thenThrows('not_found');
    spec(userDecider).given([]).when({ type: 'EraseUser', now: t0 }).thenThrows('not_found');
  });
});
