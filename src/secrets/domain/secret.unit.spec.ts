import { describe, expect, it } from 'vitest';

import { AppError } from '../../common/errors/app-error';
import {
  decideSecret,
  evolveSecret,
  initialSecretState,
  type SecretCommand,
  type SecretEvent,
  type SecretState,
} from './secret';

const now = new Date('2026-01-02T03:04:05.000Z');
const id = '11111111-1111-5111-8111-111111111111';
const tenant = '22222222-2222-4222-8222-222222222222';
const create: SecretCommand = {
  type: 'CreateSecret',
  secretId: id,
  tenantId: tenant,
  name: 'db/password',
  description: 'the password',
  owner: { kind: 'user', id: null },
  sealed: 'sv1.sealed-1',
  now,
};

function given(...events: SecretEvent[]): SecretState {
  return events.reduce(evolveSecret, initialSecretState());
}
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return 'no error';
}
const created = decideSecret(create, given())[0];

describe('secret decider', () => {
  it('creates version 1 holding only the sealed value', () => {
    expect(created).toEqual({
      type: 'SecretCreated',
      data: {
        secretId: id,
        tenantId: tenant,
        name: 'db/password',
        description: 'the password',
        owner: { kind: 'user', id: null },
        version: 1,
        sealed: 'sv1.sealed-1',
        at: now.toISOString(),
      },
    });
  });

  it('rejects a second secret of the same name (409) and an invalid name (400)', () => {
    expect(codeOf(() => decideSecret(create, given(created)))).toBe('conflict');
    expect(codeOf(() => decideSecret({ ...create, name: '../x' }, given()))).toBe(
      'validation_error',
    );
    expect(codeOf(() => decideSecret({ ...create, name: '' }, given()))).toBe('validation_error');
  });

  it('rotates to the next version', () => {
    const events = decideSecret(
      { type: 'RotateSecret', sealed: 'sv1.sealed-2', now },
      given(created),
    );
    expect(events).toEqual([
      {
        type: 'SecretRotated',
        data: { secretId: id, version: 2, sealed: 'sv1.sealed-2', at: now.toISOString() },
      },
    ]);
    expect(given(created, ...events)).toMatchObject({
      version: 2,
      sealed: 'sv1.sealed-2',
      rotatedAt: now.toISOString(),
    });
  });

  it('deletes, forgets the sealed value, and then answers 404 to rotate and delete', () => {
    const deleted = decideSecret({ type: 'DeleteSecret', now }, given(created));
    const state = given(created, ...deleted);
    expect(state).toMatchObject({ status: 'deleted', sealed: null });
    expect(codeOf(() => decideSecret({ type: 'RotateSecret', sealed: 'x', now }, state))).toBe(
      'not_found',
    );
    expect(codeOf(() => decideSecret({ type: 'DeleteSecret', now }, state))).toBe('not_found');
    expect(codeOf(() => decideSecret({ type: 'DeleteSecret', now }, given()))).toBe('not_found');
  });

  it('re-creates a deleted name with the next version', () => {
    const deleted = decideSecret({ type: 'DeleteSecret', now }, given(created));
    const again = decideSecret(create, given(created, ...deleted));
    expect(again[0]).toMatchObject({ type: 'SecretCreated', data: { version: 2 } });
  });
});
