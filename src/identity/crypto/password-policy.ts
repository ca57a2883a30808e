/**
 * The password policy, stated once: error messages quote PASSWORD_POLICY verbatim.
 */
import { AppError } from '../../common/errors/app-error';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

export const PASSWORD_POLICY =
  'Passwords must be 10 to 256 characters long, mix at least two kinds of characters ' +
  '(lower-case letters, upper-case letters, digits, symbols), and must not be a commonly used ' +
  'password or the account email.';

/** The twenty passwords seen most often in public breach corpora, compared case-insensitively. */
export const COMMON_PASSWORDS: readonly string[] = [
  '123456',
  '123456789',
  '12345',
  'qwerty',
  'password',
  '12345678',
  '111111',
  '123123',
  '1234567890',
  '1234567',
  'qwerty123',
  '000000',
  '1q2w3e',
  'aa12345678',
  'abc123',
  'password1',
  '1234',
  'qwertyuiop',
  '123321',
  'password123',
];

const COMMON = new Set(COMMON_PASSWORDS);

export type PasswordProblem =
  'too_short' | 'too_long' | 'single_character_class' | 'common' | 'equals_email';

function characterClasses(password: string): number {
  let classes = 0;
  if (/\p{Ll}/u.test(password)) classes++;
  if (/\p{Lu}/u.test(password)) classes++;
  if (/\p{Nd}/u.test(password)) classes++;
  if (/[^\p{Ll}\p{Lu}\p{Nd}]/u.test(password)) classes++;
  return classes;
}

/** Every rule `password` breaks; empty when it is acceptable. Length counts code points. */
export function passwordProblems(
  password: string,
  context: { email?: string } = {},
): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push('too_short');
  if (length > PASSWORD_MAX_LENGTH) problems.push('too_long');
  if (characterClasses(password) < 2) problems.push('single_character_class');
  const lowered = password.toLowerCase();
  if (COMMON.has(lowered)) problems.push('common');
  if (context.email && lowered === context.email.trim().toLowerCase())
    problems.push('equals_email');
  return problems;
}

/** Throws 400 validation_error at `field` (e.g. `password`, `new_password`) quoting the policy. */
export function assertPasswordAcceptable(
  password: string,
  field: string,
  context: { email?: string } = {},
): void {
  const problems = passwordProblems(password, context);
  if (problems.length === 0) return;
  const error = AppError.validation(`${field} is too weak. ${PASSWORD_POLICY}`, [
    { path: field, message: PASSWORD_POLICY },
  ]);
  if (error.details) error.details.problems = problems;
  throw error;
}
