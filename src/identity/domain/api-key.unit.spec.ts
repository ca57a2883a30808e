import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  SESSION_KEY_TTL_MS,
  apiKeyDecider,
  apiKeyUsability,
  isSessionCurrent,
  type ApiKeyCommand,
  type ApiKeyEvent,
} from './api-key';

const keyId = 'k-1';
const userId = 'u-1';
const tenantId = 't-1';
const t0 = new Date('2026-02-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const DAY = 24 * 60 * 60 * 1000;

const createUserKey: ApiKeyCommand = {
  type: 'CreateApiKey',
  keyId,
  userId,
  tenantId,
  name: '  Production Key ',
  prefix: 'AAAAAAAAAAAA',
  keyHash: 'hash-1',
  kind: 'user',
  now: t0,
};

const created: ApiKeyEvent = {
  type: 'ApiKeyCreated',
  data: {
    keyId,
    userId,
    tenantId,
    name: 'Production Key',
    prefix: 'AAAAAAAAAAAA',
    keyHash: 'hash-1',
    kind: 'user',
    expiresAt: null,
    sessionVersion: null,
    createdAt: t0.toISOString(),
  },
};

const sessionCreated: ApiKeyEvent = {
  type: 'ApiKeyCreated',
  data: {
    ...created.data,
    name: 'login session',
    kind: 'session',
    expiresAt: at(SESSION_KEY_TTL_MS).toISOString(),
    sessionVersion: 3,
  },
};

const revoked: ApiKeyEvent = {
  type: 'ApiKeyRevoked',
  data: {
    keyId,
    userId,
    tenantId,
    prefix: 'AAAAAAAAAAAA',
    reason: 'user_request',
    at: at(DAY).toISOString(),
  },
};

const rotate = (now: Date): ApiKeyCommand => ({
  type: 'RotateApiKey',
  prefix: 'BBBBBBBBBBBB',
  keyHash: 'hash-2',
  now,
});

describe('api key: CreateApiKey', () => {
  it('creates a user key that never expires, name trimmed', () => {
    spec(apiKeyDecider).given([]).when(createUserKey).then([created]);
  });

  it('a session key expires after 30 days by default and carries the session version', () => {
    spec(apiKeyDecider)
      .given([])
      .when({ ...createUserKey, name: 'login session', kind: 'session', sessionVersion: 3 })
      .then([sessionCreated]);
  });

  it('an explicit expiry wins', () => {
    spec(apiKeyDecider)
      .given([])
      .when({ ...createUserKey, expiresAt: at(7 * DAY) })
      .thenState((state) => expect(state.expiresAt).toBe(at(7 * DAY).getTime()));
  });

  it.each([
    ['an empty name', { name: ' ' }, /name/],
    ['an expiry in the past', { expiresAt: at(-1) }, /expires_at/],
    ['a session key without a session version', { kind: 'session' }, /session_version/],
  ])('rejects %s', (_label, patch, message) => {
    spec(apiKeyDecider)
      .given([])
      .when({ ...createUserKey, ...patch } as ApiKeyCommand)
      .thenThrows('validation_error', message);
  });

  it('rejects a key id that exists', () => {
    spec(apiKeyDecider).given([created]).when(createUserKey).thenThrows('conflict');
  });
});

describe('api key: RotateApiKey', () => {
  it('replaces prefix and hash in one event', () => {
    spec(apiKeyDecider)
      .given([created])
      .when(rotate(at(DAY)))
      .thenState((state, events) => {
        expect(events).toEqual([
          {
            type: 'ApiKeyRotated',
            data: {
              keyId,
              userId,
              tenantId,
              prefix: 'BBBBBBBBBBBB',
              keyHash: 'hash-2',
              previousPrefix: 'AAAAAAAAAAAA',
              at: at(DAY).toISOString(),
            },
          },
        ]);
        expect(state).toMatchObject({
          prefix: 'BBBBBBBBBBBB',
          keyHash: 'hash-2',
          status: 'active',
        });
      });
  });

  it('a revoked or unknown key is not_found', () => {
    spec(apiKeyDecider)
      .given([created, revoked])
      .when(rotate(at(2 * DAY)))
      .thenThrows('not_found');
    spec(apiKeyDecider).given([]).when(rotate(t0)).thenThrows('not_found');
  });

  it('an expired key cannot be rotated', () => {
    spec(apiKeyDecider)
      .given([sessionCreated])
      .when(rotate(at(SESSION_KEY_TTL_MS)))
      .thenThrows('invalid_state');
  });
});

describe('api key: RevokeApiKey', () => {
  it('revokes an active key', () => {
    spec(apiKeyDecider)
      .given([created])
      .when({ type: 'RevokeApiKey', reason: 'user_request', now: at(DAY) })
      .then([revoked]);
  });

  it('an expired key can still be revoked', () => {
    spec(apiKeyDecider)
      .given([sessionCreated])
      .when({ type: 'RevokeApiKey', reason: 'user_request', now: at(SESSION_KEY_TTL_MS + DAY) })
      .thenState((state) => expect(state.status).toBe('revoked'));
  });

  it('revoking twice, or an unknown key, is not_found', () => {
    spec(apiKeyDecider)
      .given([created, revoked])
      .when({ type: 'RevokeApiKey', reason: 'user_request', now: at(2 * DAY) })
      .thenThrows('not_found');
    spec(apiKeyDecider)
      .given([])
      .when({ type: 'RevokeApiKey', reason: 'user_request', now: t0 })
      .thenThrows('not_found');
  });
});

describe('api key: usability for the auth guard', () => {
  const userKey = { revoked: false, kind: 'user' as const, expiresAt: null, sessionVersion: null };
  const sessionKey = {
    revoked: false,
    kind: 'session' as const,
    expiresAt: at(30 * DAY),
    sessionVersion: 2,
  };

  it.each([
    ['a live user key', userKey, t0, 1, 'usable'],
    ['a revoked key', { ...userKey, revoked: true }, t0, 1, 'revoked'],
    ['a user key after its expiry', { ...userKey, expiresAt: at(DAY) }, at(DAY), 1, 'expired'],
    ['a key of an erased user', userKey, t0, null, 'session_ended'],
    ['a session key of the current session version', sessionKey, t0, 2, 'usable'],
    ['a session key after the password changed', sessionKey, t0, 3, 'session_ended'],
    ['a session key after 30 days', sessionKey, at(30 * DAY), 2, 'expired'],
  ] as const)('%s', (_label, key, now, version, expected) => {
    expect(apiKeyUsability(key, now, version)).toBe(expected);
  });

  it('JWT session versions must match the user', () => {
    expect(isSessionCurrent(2, 2)).toBe(true);
    expect(isSessionCurrent(1, 2)).toBe(false);
    expect(isSessionCurrent(1, null)).toBe(false);
  });
});
