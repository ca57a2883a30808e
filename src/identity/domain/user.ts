/**
 * The user aggregate (stream `user-<userId>`): credentials, password reset, refresh-token
 * families, default tenant and erasure.
 *
 * Everything slow, secret or random happens outside `decide` and enters through the command:
 * password hashes and their verification (scrypt), token generation and hashing, encryption of
 * personal fields with the user's data key, the lookup hash of the email, the current time.
 * `decide` compares token hashes in constant time and never sees a plaintext secret.
 *
 * Personal data (email, name) appears in events only as ciphertext under the user's data key;
 * erasing the user (UserErased) is followed, outside, by destroying that key (crypto-shredding).
 * The state keeps only what decisions need, never personal data.
 *
 * Recorded rejections: a failed login (LoginFailed) and a replayed refresh
 * token (RefreshTokenFamilyRevoked 'reuse_detected') must be stored *and* answered 401. Since a
 * throwing `decide` stores nothing, these commands return the events; the handler appends them
 * and then throws `userRejection(events)`.
 *
 * Failed sign-ins lock nothing: throttling (domain/sign-in-throttle.ts) slows the guessing address,
 * outside this aggregate, so a stranger cannot lock the owner out. `AccountLocked` events written
 * by earlier versions are history only and no longer block anything.
 *
 * Sessions: every JWT and session API key carries the user's `sessionVersion`; PasswordChanged,
 * PasswordReset, RevokeSessions and erasure bump it (SessionsRevoked), killing every session at
 * once, and revoke all refresh-token families in the state. A password change may start a new
 * session for the caller in the same decision (after the revocation), so "every other session".
 *
 * A refresh-token family remembers the session API key minted with it (`sessionKeyId`); ending
 * the family (logout, reuse detected) names that key in RefreshTokenFamilyRevoked, and the handler
 * revokes it (the key is another aggregate). `sessionKeyOfRefreshToken` finds it again when a
 * logout is repeated after a crash between the two appends.
 *
 * A wrong current password on ChangePassword counts like a failed sign-in (LoginFailed here, and
 * in the sign-in throttle), so a stolen session cannot guess the password any faster than a
 * stranger can at /auth/login.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { constantTimeEqual } from '../crypto/encoding';
import type { EncryptedField } from '../crypto/personal-data';
import {
  iso,
  isValidEmail,
  millis,
  nameProblem,
  normalizeEmail,
  throwIfInvalid,
  type FieldProblem,
} from './validation';

export const USER_CATEGORY = 'user';
export const RESET_TOKEN_TTL_MS = 30 * 60 * 1000;
/**
 * At most this many unexpired reset tokens at once; further requests record nothing (the handler
 * sends mail only when IssueResetToken produced an event), so nobody can grow a user's stream by
 * hammering forgot-password from many addresses.
 */
export const MAX_OUTSTANDING_RESET_TOKENS = 3;

// ---------------------------------------------------------------- commands

export interface NewRefreshToken {
  tokenId: string;
  /** SHA-256 of the opaque token (crypto/opaque-tokens.ts). */
  tokenHash: string;
  expiresAt: Date;
}

/** A new refresh-token family, and the session API key minted with it (null when none). */
export interface NewSession extends NewRefreshToken {
  familyId: string;
  sessionKeyId: string | null;
}

export interface RegisterUser {
  type: 'RegisterUser';
  userId: string;
  /** Plaintext, only so decide can validate it; it never reaches an event. */
  email: string;
  /** Plaintext, only so decide can validate it; it never reaches an event. */
  name: string;
  encryptedEmail: EncryptedField;
  encryptedName: EncryptedField;
  /** crypto/personal-data.ts emailLookupHash of the normalised email. */
  emailLookupHash: string;
  passwordHash: string;
  defaultTenantId: string | null;
  now: Date;
}

/** The handler verified the password (or the dummy) outside; decide records the outcome. */
export interface Login {
  type: 'Login';
  passwordVerified: boolean;
  /** Starts a new refresh-token family; used only when the login succeeds. */
  session: NewSession;
  /** A fresh hash when the stored one uses outdated parameters (crypto needsRehash). */
  upgradedPasswordHash?: string;
  now: Date;
}

export interface ChangePassword {
  type: 'ChangePassword';
  currentPasswordVerified: boolean;
  /** Hashed only once the current password is verified; ignored otherwise. */
  newPasswordHash: string;
  /** The caller's own session, started after every other one is revoked. */
  session?: NewSession | null;
  now: Date;
}

export interface IssueResetToken {
  type: 'IssueResetToken';
  tokenId: string;
  tokenHash: string;
  now: Date;
}

export interface ResetPassword {
  type: 'ResetPassword';
  tokenHash: string;
  newPasswordHash: string;
  now: Date;
}

export interface RefreshSession {
  type: 'RefreshSession';
  presentedTokenHash: string;
  next: NewRefreshToken;
  now: Date;
}

export interface Logout {
  type: 'Logout';
  presentedTokenHash: string;
  now: Date;
}

export interface RevokeSessions {
  type: 'RevokeSessions';
  reason: 'user_request' | 'admin_request';
  now: Date;
}

/** Membership of the tenant is checked by the handler first (tenant.ts assertMayUseTenant). */
export interface SwitchDefaultTenant {
  type: 'SwitchDefaultTenant';
  tenantId: string;
  now: Date;
}

export interface EraseUser {
  type: 'EraseUser';
  now: Date;
}

export type UserCommand =
  | RegisterUser
  | Login
  | ChangePassword
  | IssueResetToken
  | ResetPassword
  | RefreshSession
  | Logout
  | RevokeSessions
  | SwitchDefaultTenant
  | EraseUser;

// ---------------------------------------------------------------- events

export type SessionRevocationReason =
  'password_changed' | 'password_reset' | 'user_request' | 'admin_request';

export type UserEvent =
  | {
      type: 'UserRegistered';
      data: {
        userId: string;
        emailLookupHash: string;
        email: EncryptedField;
        name: EncryptedField;
        passwordHash: string;
        defaultTenantId: string | null;
        registeredAt: string;
      };
    }
  | { type: 'LoginSucceeded'; data: { userId: string; familyId: string; at: string } }
  | { type: 'LoginFailed'; data: { userId: string; consecutiveFailures: number; at: string } }
  /** Written by earlier versions (a lockout); kept readable, no longer decided or enforced. */
  | { type: 'AccountLocked'; data: { userId: string; until: string; at: string } }
  | { type: 'PasswordHashUpgraded'; data: { userId: string; passwordHash: string; at: string } }
  | { type: 'PasswordChanged'; data: { userId: string; passwordHash: string; at: string } }
  | {
      type: 'ResetTokenIssued';
      data: { userId: string; tokenId: string; tokenHash: string; expiresAt: string; at: string };
    }
  | {
      type: 'PasswordReset';
      data: { userId: string; passwordHash: string; tokenId: string; at: string };
    }
  | {
      type: 'SessionsRevoked';
      data: {
        userId: string;
        /** Sessions (JWTs, session keys) carrying an older version are dead. */
        sessionVersion: number;
        reason: SessionRevocationReason;
        at: string;
      };
    }
  | {
      type: 'RefreshTokenIssued';
      data: {
        userId: string;
        familyId: string;
        tokenId: string;
        tokenHash: string;
        expiresAt: string;
        /** The family's session API key (absent in events written before it was recorded). */
        sessionKeyId?: string | null;
        at: string;
      };
    }
  | {
      type: 'RefreshTokenRotated';
      data: { userId: string; familyId: string; tokenId: string; replacedBy: string; at: string };
    }
  | {
      type: 'RefreshTokenFamilyRevoked';
      data: {
        userId: string;
        familyId: string;
        reason: 'reuse_detected' | 'logout';
        /** The session API key to revoke with the family (absent in older events). */
        sessionKeyId?: string | null;
        at: string;
      };
    }
  | { type: 'DefaultTenantChanged'; data: { userId: string; tenantId: string; at: string } }
  | { type: 'UserErased'; data: { userId: string; at: string } };

// ---------------------------------------------------------------- state

export interface RefreshTokenRecord {
  familyId: string;
  tokenId: string;
  tokenHash: string;
  expiresAt: number;
  /** rotated: replaced by a newer token (presenting it again is reuse); revoked: family dead. */
  status: 'active' | 'rotated' | 'revoked';
  /** The session API key minted with the family, if any. */
  sessionKeyId: string | null;
}

export interface ResetTokenRecord {
  tokenId: string;
  tokenHash: string;
  expiresAt: number;
}

export interface UserState {
  status: 'none' | 'active' | 'erased';
  userId: string | null;
  /** The encoded scrypt hash the login handler verifies against. */
  passwordHash: string | null;
  defaultTenantId: string | null;
  /** Failed password checks since the last success (history for administrators, no lock). */
  consecutiveFailures: number;
  sessionVersion: number;
  resetTokens: readonly ResetTokenRecord[];
  refreshTokens: readonly RefreshTokenRecord[];
}

export function initialUserState(): UserState {
  return {
    status: 'none',
    userId: null,
    passwordHash: null,
    defaultTenantId: null,
    consecutiveFailures: 0,
    sessionVersion: 1,
    resetTokens: [],
    refreshTokens: [],
  };
}

function revokeAllFamilies(tokens: readonly RefreshTokenRecord[]): RefreshTokenRecord[] {
  return tokens.map((t) => (t.status === 'revoked' ? t : { ...t, status: 'revoked' }));
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered':
      return {
        ...initialUserState(),
        status: 'active',
        userId: event.data.userId,
        passwordHash: event.data.passwordHash,
        defaultTenantId: event.data.defaultTenantId,
      };
    case 'LoginSucceeded':
      return { ...state, consecutiveFailures: 0 };
    case 'LoginFailed':
      return { ...state, consecutiveFailures: event.data.consecutiveFailures };
    case 'AccountLocked':
      return state;
    case 'PasswordHashUpgraded':
      return { ...state, passwordHash: event.data.passwordHash };
    case 'PasswordChanged':
      return { ...state, passwordHash: event.data.passwordHash, resetTokens: [] };
    case 'ResetTokenIssued': {
      const at = millis(event.data.at);
      return {
        ...state,
        resetTokens: [
          ...state.resetTokens.filter((t) => t.expiresAt > at),
          {
            tokenId: event.data.tokenId,
            tokenHash: event.data.tokenHash,
            expiresAt: millis(event.data.expiresAt),
          },
        ],
      };
    }
    case 'PasswordReset':
      // Every outstanding token dies.
      return {
        ...state,
        passwordHash: event.data.passwordHash,
        resetTokens: [],
        consecutiveFailures: 0,
      };
    case 'SessionsRevoked':
      return {
        ...state,
        sessionVersion: event.data.sessionVersion,
        refreshTokens: revokeAllFamilies(state.refreshTokens),
      };
    case 'RefreshTokenIssued': {
      const at = millis(event.data.at);
      const sessionKeyId =
        event.data.sessionKeyId ??
        state.refreshTokens.find((t) => t.familyId === event.data.familyId)?.sessionKeyId ??
        null;
      return {
        ...state,
        refreshTokens: [
          // Expired tokens are useless whatever their status: forget them so the state stays small.
          ...state.refreshTokens.filter((t) => t.expiresAt > at),
          {
            familyId: event.data.familyId,
            tokenId: event.data.tokenId,
            tokenHash: event.data.tokenHash,
            expiresAt: millis(event.data.expiresAt),
            status: 'active',
            sessionKeyId,
          },
        ],
      };
    }
    case 'RefreshTokenRotated':
      return {
        ...state,
        refreshTokens: state.refreshTokens.map((t) =>
          t.tokenId === event.data.tokenId ? { ...t, status: 'rotated' } : t,
        ),
      };
    case 'RefreshTokenFamilyRevoked':
      return {
        ...state,
        refreshTokens: state.refreshTokens.map((t) =>
          t.familyId === event.data.familyId ? { ...t, status: 'revoked' } : t,
        ),
      };
    case 'DefaultTenantChanged':
      return { ...state, defaultTenantId: event.data.tenantId };
    case 'UserErased':
      return {
        ...initialUserState(),
        status: 'erased',
        userId: state.userId,
        sessionVersion: state.sessionVersion + 1,
      };
    default:
      return state;
  }
}

// ---------------------------------------------------------------- decisions

export const INVALID_CREDENTIALS = 'invalid email or password';

function requireActive(state: UserState): string {
  if (state.status !== 'active' || state.userId === null) {
    throw AppError.notFound('user', state.userId ?? 'unknown');
  }
  return state.userId;
}

function findByHash<T extends { tokenHash: string }>(
  records: readonly T[],
  hash: string,
): T | undefined {
  // Scan everything and compare each in constant time, so timing says nothing about which matched.
  let found: T | undefined;
  for (const record of records) {
    if (constantTimeEqual(record.tokenHash, hash) && found === undefined) found = record;
  }
  return found;
}

function register(command: RegisterUser, state: UserState): UserEvent[] {
  if (state.status !== 'none') {
    throw new AppError('conflict', `user ${command.userId} already exists`, { id: command.userId });
  }
  const problems: FieldProblem[] = [];
  if (command.email !== normalizeEmail(command.email)) {
    problems.push({
      path: 'email',
      message: 'must be normalised (trimmed, lower-case) before deciding',
    });
  } else if (!isValidEmail(command.email)) {
    problems.push({ path: 'email', message: 'must be a valid email address' });
  }
  const nameIssue = nameProblem(command.name);
  if (nameIssue) problems.push({ path: 'name', message: nameIssue });
  throwIfInvalid(problems);
  return [
    {
      type: 'UserRegistered',
      data: {
        userId: command.userId,
        emailLookupHash: command.emailLookupHash,
        email: command.encryptedEmail,
        name: command.encryptedName,
        passwordHash: command.passwordHash,
        defaultTenantId: command.defaultTenantId,
        registeredAt: iso(command.now),
      },
    },
  ];
}

function sessionStarted(userId: string, session: NewSession, at: string): UserEvent {
  return {
    type: 'RefreshTokenIssued',
    data: {
      userId,
      familyId: session.familyId,
      tokenId: session.tokenId,
      tokenHash: session.tokenHash,
      expiresAt: iso(session.expiresAt),
      sessionKeyId: session.sessionKeyId,
      at,
    },
  };
}

/** LoginFailed with the count since the last success; it locks nothing. */
function passwordFailure(state: UserState, userId: string, now: Date): UserEvent[] {
  const consecutiveFailures = state.consecutiveFailures + 1;
  return [{ type: 'LoginFailed', data: { userId, consecutiveFailures, at: iso(now) } }];
}

function login(command: Login, state: UserState): UserEvent[] {
  if (state.status !== 'active' || state.userId === null) {
    throw new AppError('unauthorized', INVALID_CREDENTIALS);
  }
  const userId = state.userId;
  const at = iso(command.now);
  if (!command.passwordVerified) return passwordFailure(state, userId, command.now);
  const { session } = command;
  const events: UserEvent[] = [
    { type: 'LoginSucceeded', data: { userId, familyId: session.familyId, at } },
    sessionStarted(userId, session, at),
  ];
  if (command.upgradedPasswordHash) {
    events.push({
      type: 'PasswordHashUpgraded',
      data: { userId, passwordHash: command.upgradedPasswordHash, at },
    });
  }
  return events;
}

function sessionsRevoked(
  state: UserState,
  userId: string,
  reason: SessionRevocationReason,
  at: string,
): UserEvent {
  return {
    type: 'SessionsRevoked',
    data: { userId, sessionVersion: state.sessionVersion + 1, reason, at },
  };
}

/**
 * A recorded rejection when the current password is wrong (see the header); the handler answers
 * 401 with `CURRENT_PASSWORD_INCORRECT` after appending.
 */
function changePassword(command: ChangePassword, state: UserState): UserEvent[] {
  const userId = requireActive(state);
  if (!command.currentPasswordVerified) return passwordFailure(state, userId, command.now);
  if (command.newPasswordHash.length === 0) {
    throw new Error('ChangePassword needs the new password hash once the current one is verified');
  }
  const at = iso(command.now);
  const events: UserEvent[] = [
    { type: 'PasswordChanged', data: { userId, passwordHash: command.newPasswordHash, at } },
    sessionsRevoked(state, userId, 'password_changed', at),
  ];
  if (command.session) events.push(sessionStarted(userId, command.session, at));
  return events;
}

function issueResetToken(command: IssueResetToken, state: UserState): UserEvent[] {
  const userId = requireActive(state);
  const now = command.now.getTime();
  const outstanding = state.resetTokens.filter((t) => t.expiresAt > now).length;
  if (outstanding >= MAX_OUTSTANDING_RESET_TOKENS) return [];
  return [
    {
      type: 'ResetTokenIssued',
      data: {
        userId,
        tokenId: command.tokenId,
        tokenHash: command.tokenHash,
        expiresAt: iso(new Date(command.now.getTime() + RESET_TOKEN_TTL_MS)),
        at: iso(command.now),
      },
    },
  ];
}

function resetPassword(command: ResetPassword, state: UserState): UserEvent[] {
  const invalid = AppError.validation('the reset token is invalid or has expired', [
    { path: 'token', message: 'is invalid or has expired' },
  ]);
  if (state.status !== 'active' || state.userId === null) throw invalid;
  const token = findByHash(state.resetTokens, command.tokenHash);
  if (!token || command.now.getTime() >= token.expiresAt) throw invalid;
  const at = iso(command.now);
  return [
    {
      type: 'PasswordReset',
      data: {
        userId: state.userId,
        passwordHash: command.newPasswordHash,
        tokenId: token.tokenId,
        at,
      },
    },
    sessionsRevoked(state, state.userId, 'password_reset', at),
  ];
}

function refreshSession(command: RefreshSession, state: UserState): UserEvent[] {
  const rejected = new AppError('unauthorized', 'the refresh token is invalid or has expired');
  if (state.status !== 'active' || state.userId === null) throw rejected;
  const userId = state.userId;
  const token = findByHash(state.refreshTokens, command.presentedTokenHash);
  if (!token || command.now.getTime() >= token.expiresAt || token.status === 'revoked')
    throw rejected;
  const at = iso(command.now);
  if (token.status === 'rotated') {
    // Someone replayed a token that was already exchanged: one of the two holders is a thief.
    return [
      {
        type: 'RefreshTokenFamilyRevoked',
        data: {
          userId,
          familyId: token.familyId,
          reason: 'reuse_detected',
          sessionKeyId: token.sessionKeyId,
          at,
        },
      },
    ];
  }
  return [
    {
      type: 'RefreshTokenRotated',
      data: {
        userId,
        familyId: token.familyId,
        tokenId: token.tokenId,
        replacedBy: command.next.tokenId,
        at,
      },
    },
    {
      type: 'RefreshTokenIssued',
      data: {
        userId,
        familyId: token.familyId,
        tokenId: command.next.tokenId,
        tokenHash: command.next.tokenHash,
        expiresAt: iso(command.next.expiresAt),
        sessionKeyId: token.sessionKeyId,
        at,
      },
    },
  ];
}

function logout(command: Logout, state: UserState): UserEvent[] {
  if (state.status !== 'active' || state.userId === null) return [];
  const token = findByHash(state.refreshTokens, command.presentedTokenHash);
  // Logging out with an unknown or dead token changes nothing and is not an error.
  if (!token || token.status === 'revoked') return [];
  return [
    {
      type: 'RefreshTokenFamilyRevoked',
      data: {
        userId: state.userId,
        familyId: token.familyId,
        reason: 'logout',
        sessionKeyId: token.sessionKeyId,
        at: iso(command.now),
      },
    },
  ];
}

function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'RegisterUser':
      return register(command, state);
    case 'Login':
      return login(command, state);
    case 'ChangePassword':
      return changePassword(command, state);
    case 'IssueResetToken':
      return issueResetToken(command, state);
    case 'ResetPassword':
      return resetPassword(command, state);
    case 'RefreshSession':
      return refreshSession(command, state);
    case 'Logout':
      return logout(command, state);
    case 'RevokeSessions': {
      const userId = requireActive(state);
      return [sessionsRevoked(state, userId, command.reason, iso(command.now))];
    }
    case 'SwitchDefaultTenant': {
      const userId = requireActive(state);
      if (state.defaultTenantId === command.tenantId) return [];
      return [
        {
          type: 'DefaultTenantChanged',
          data: { userId, tenantId: command.tenantId, at: iso(command.now) },
        },
      ];
    }
    case 'EraseUser':
      if (state.status === 'erased') return [];
      return [{ type: 'UserErased', data: { userId: requireActive(state), at: iso(command.now) } }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown user command ${JSON.stringify(unknown)}`);
    }
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  category: USER_CATEGORY,
  initialState: initialUserState,
  evolve: evolveUser,
  decide: decideUser,
};

export const CURRENT_PASSWORD_INCORRECT = 'the current password is incorrect';

/**
 * The session API key of the family a refresh token belongs to (whatever the family's status), so
 * a logout repeated after a crash still finds the key to revoke; null when none or unknown.
 */
export function sessionKeyOfRefreshToken(state: UserState, tokenHash: string): string | null {
  return findByHash(state.refreshTokens, tokenHash)?.sessionKeyId ?? null;
}

/**
 * The error to answer after appending the events of a recorded rejection (a failed login, a
 * replayed refresh token); null when the command succeeded.
 */
export function userRejection(events: readonly UserEvent[]): AppError | null {
  for (const event of events) {
    if (event.type === 'LoginFailed') return new AppError('unauthorized', INVALID_CREDENTIALS);
    if (event.type === 'RefreshTokenFamilyRevoked' && event.data.reason === 'reuse_detected') {
      return new AppError('unauthorized', 'the refresh token is invalid or has expired');
    }
  }
  return null;
}
