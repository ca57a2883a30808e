import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import {
  COMMON_PASSWORDS,
  PASSWORD_POLICY,
  assertPasswordAcceptable,
  passwordProblems,
} from './password-policy';

describe('password policy', () => {
  it.each([
    ['Tr0ub4dor&3x', []],
    // Spaces count as symbols: a passphrase of words passes.
    ['correct horse battery', []],
    ['correcthorsebattery', ['single_character_class']],
    ['correct horse battery 9', []],
    ['short1A', ['too_short']],
    ['aaaaaaaaaaaa', ['single_character_class']],
    ['123456789012', ['single_character_class']],
    ['password123', ['common']],
    ['PASSWORD123', ['common']],
    ['qwertyuiop', ['single_character_class', 'common']],
    ['ünïcödé-pässwörd', []],
    ['x1'.repeat(129), ['too_long']],
  ])('%j -> %j', (password, problems) => {
    expect(passwordProblems(password)).toEqual(problems);
  });

  it('rejects the account email as password', () => {
    expect(passwordProblems('Ada@Example.com', { email: 'ada@example.com' })).toEqual([
      'equals_email',
    ]);
  });

  it('lists twenty common passwords', () => {
    expect(COMMON_PASSWORDS).toHaveLength(20);
    expect(new Set(COMMON_PASSWORDS).size).toBe(20);
  });

  it('throws a validation error at the field that quotes the policy', () => {
    let caught: unknown;
    try {
      assertPasswordAcceptable('password', 'new_password');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    const error = caught as AppError;
    expect(error.code).toBe('validation_error');
    expect(error.message).toContain(PASSWORD_POLICY);
    expect(error.details).toMatchObject({
      fields: [{ path: 'new_password', message: PASSWORD_POLICY }],
      problems: ['too_short', 'single_character_class', 'common'],
    });
    expect(() => assertPasswordAcceptable('a good Passphrase', 'password')).not.toThrow();
  });
});
