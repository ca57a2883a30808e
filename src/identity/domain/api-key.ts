/**
 * The API key aggregate (stream `apikey-<keyId>`).
 *
 * A key belongs to one user and is bound to the tenant it was created in. Only its lookup prefix
 * and a peppered hash of the whole key are stored (crypto/api-key-format.ts); the key itself is
 * shown once by the HTTP layer. Two kinds:
 *   - `session`: minted at login, expires (default SESSION_KEY_TTL_MS, 30 days) and carries the
 *     user's sessionVersion, so a password change or reset kills it with the user's other sessions;
 *   - `user`: created on purpose by the user, lives until revoked (or its optional expiresAt).
 *
 * Rotate (HTTP `rotate` and its alias `regenerate`) replaces prefix and hash in one event: the old
 * key is dead from that event on. Revoke ends the key.
 *
 * A revoked key is gone for every later command: Rotate and Revoke answer `not_found`, as for a key
 * that never existed (the listing no longer shows it, so a second DELETE is a 404, and a revoked
 * key id cannot be told apart from a made-up one). An expired key may be revoked but not rotated
 * (`invalid_state`).
 *
 * Ownership (caller is the key's user, or an admin of its tenant) is checked by the handler from
 * the read model before it sends the command. `last_used` lives only in the read side.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { iso, millis, nameProblem, throwIfInvalid, type FieldProblem } from './validation';

export const APIKEY_CATEGORY = 'apikey';
export const SESSION_KEY_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export type ApiKeyKind = 'session' | 'user';

export interface CreateApiKey {
  type: 'CreateApiKey';
  keyId: string;
  userId: string;
  tenantId: string;
  name: string;
  prefix: string;
  keyHash: string;
  kind: ApiKeyKind;
  /** Session keys default to now + SESSION_KEY_TTL_MS; user keys default to never. */
  expiresAt?: Date | null;
  /** Required for session keys: the user's sessionVersion at login. */
  sessionVersion?: number | null;
  now: Date;
}

export interface RotateApiKey {
  type: 'RotateApiKey';
  prefix: string;
  keyHash: string;
  now: Date;
}

export interface RevokeApiKey {
  type: 'RevokeApiKey';
  /** `session_ended`: the session it was minted with ended (logout, refresh-token reuse). */
  reason: 'user_request' | 'admin_request' | 'user_erased' | 'session_ended';
  now: Date;
}

export type ApiKeyCommand = CreateApiKey | RotateApiKey | RevokeApiKey;

export type ApiKeyEvent =
  | {
      type: 'ApiKeyCreated';
      data: {
        keyId: string;
        userId: string;
        tenantId: string;
        name: string;
        prefix: string;
        keyHash: string;
        kind: ApiKeyKind;
        expiresAt: string | null;
        sessionVersion: number | null;
        createdAt: string;
      };
    }
  | {
      type: 'ApiKeyRotated';
      data: {
        keyId: string;
        userId: string;
        tenantId: string;
        prefix: string;
        keyHash: string;
        previousPrefix: string;
        at: string;
      };
    }
  | {
      type: 'ApiKeyRevoked';
      data: {
        keyId: string;
        userId: string;
        tenantId: string;
        prefix: string;
        reason: RevokeApiKey['reason'];
        at: string;
      };
    };

export interface ApiKeyState {
  status: 'none' | 'active' | 'revoked';
  keyId: string | null;
  userId: string | null;
  tenantId: string | null;
  kind: ApiKeyKind | null;
  prefix: string | null;
  keyHash: string | null;
  /** Epoch milliseconds; null when the key does not expire. */
  expiresAt: number | null;
  sessionVersion: number | null;
}

export function initialApiKeyState(): ApiKeyState {
  return {
    status: 'none',
    keyId: null,
    userId: null,
    tenantId: null,
    kind: null,
    prefix: null,
    keyHash: null,
    expiresAt: null,
    sessionVersion: null,
  };
}

export function evolveApiKey(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  switch (event.type) {
    case 'ApiKeyCreated':
      return {
        status: 'active',
        keyId: event.data.keyId,
        userId: event.data.userId,
        tenantId: event.data.tenantId,
        kind: event.data.kind,
        prefix: event.data.prefix,
        keyHash: event.data.keyHash,
        expiresAt: event.data.expiresAt === null ? null : millis(event.data.expiresAt),
        sessionVersion: event.data.sessionVersion,
      };
    case 'ApiKeyRotated':
      return { ...state, prefix: event.data.prefix, keyHash: event.data.keyHash };
    case 'ApiKeyRevoked':
      return { ...state, status: 'revoked' };
    default:
      return state;
  }
}

interface LiveKey {
  keyId: string;
  userId: string;
  tenantId: string;
  prefix: string;
}

function requireLive(state: ApiKeyState): LiveKey {
  if (
    state.status !== 'active' ||
    state.keyId === null ||
    state.userId === null ||
    state.tenantId === null ||
    state.prefix === null
  ) {
    throw AppError.notFound('api key', state.keyId ?? 'unknown');
  }
  return {
    keyId: state.keyId,
    userId: state.userId,
    tenantId: state.tenantId,
    prefix: state.prefix,
  };
}

function create(command: CreateApiKey, state: ApiKeyState): ApiKeyEvent[] {
  if (state.status !== 'none') {
    throw new AppError('conflict', `api key ${command.keyId} already exists`, {
      id: command.keyId,
    });
  }
  const problems: FieldProblem[] = [];
  const nameIssue = nameProblem(command.name);
  if (nameIssue) problems.push({ path: 'name', message: nameIssue });
  let expiresAt = command.expiresAt ?? null;
  if (command.kind === 'session' && expiresAt === null) {
    expiresAt = new Date(command.now.getTime() + SESSION_KEY_TTL_MS);
  }
  if (expiresAt !== null && expiresAt.getTime() <= command.now.getTime()) {
    problems.push({ path: 'expires_at', message: 'must be in the future' });
  }
  const sessionVersion = command.sessionVersion ?? null;
  if (command.kind === 'session' && sessionVersion === null) {
    problems.push({ path: 'session_version', message: 'is required for session keys' });
  }
  throwIfInvalid(problems);
  return [
    {
      type: 'ApiKeyCreated',
      data: {
        keyId: command.keyId,
        userId: command.userId,
        tenantId: command.tenantId,
        name: command.name.trim(),
        prefix: command.prefix,
        keyHash: command.keyHash,
        kind: command.kind,
        expiresAt: expiresAt === null ? null : iso(expiresAt),
        sessionVersion: command.kind === 'session' ? sessionVersion : null,
        createdAt: iso(command.now),
      },
    },
  ];
}

function isExpired(state: ApiKeyState, now: Date): boolean {
  return state.expiresAt !== null && now.getTime() >= state.expiresAt;
}

function decideApiKey(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
  switch (command.type) {
    case 'CreateApiKey':
      return create(command, state);
    case 'RotateApiKey': {
      const key = requireLive(state);
      if (isExpired(state, command.now)) {
        throw AppError.invalidState(`api key ${key.keyId} has expired and cannot be rotated`, {
          id: key.keyId,
        });
      }
      return [
        {
          type: 'ApiKeyRotated',
          data: {
            ...key,
            prefix: command.prefix,
            keyHash: command.keyHash,
            previousPrefix: key.prefix,
            at: iso(command.now),
          },
        },
      ];
    }
    case 'RevokeApiKey': {
      const key = requireLive(state);
      return [
        { type: 'ApiKeyRevoked', data: { ...key, reason: command.reason, at: iso(command.now) } },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown api key command ${JSON.stringify(unknown)}`);
    }
  }
}

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  category: APIKEY_CATEGORY,
  initialState: initialApiKeyState,
  evolve: evolveApiKey,
  decide: decideApiKey,
};

/** What the auth guard knows about a key (from the keys read model) and about its user. */
export interface ApiKeyCredentialView {
  revoked: boolean;
  kind: ApiKeyKind;
  expiresAt: Date | null;
  sessionVersion: number | null;
}

export type ApiKeyUsability = 'usable' | 'revoked' | 'expired' | 'session_ended';

/**
 * Whether a presented key (already matched by prefix and hash) may authenticate a request now.
 * `userSessionVersion` is the user's current version (null when the user is erased or unknown).
 */
export function apiKeyUsability(
  key: ApiKeyCredentialView,
  now: Date,
  userSessionVersion: number | null,
): ApiKeyUsability {
  if (key.revoked) return 'revoked';
  if (key.expiresAt !== null && now.getTime() >= key.expiresAt.getTime()) return 'expired';
  if (userSessionVersion === null) return 'session_ended';
  if (key.kind === 'session' && key.sessionVersion !== userSessionVersion) return 'session_ended';
  return 'usable';
}

/** JWTs carry the user's sessionVersion (claim `sv`); older versions are dead. */
export function isSessionCurrent(
  tokenSessionVersion: number,
  userSessionVersion: number | null,
): boolean {
  return userSessionVersion !== null && tokenSessionVersion === userSessionVersion;
}
