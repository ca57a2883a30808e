import { AppError } from '../../common/errors/app-error';

export interface FieldProblem {
  path: string;
  message: string;
}

/** 400 validation_error naming every offending field; a no-op for an empty list. */
export function throwIfInvalid(problems: FieldProblem[], summary?: string): void {
  if (problems.length === 0) return;
  throw AppError.validation(
    summary ?? problems.map((p) => `${p.path}: ${p.message}`).join('; '),
    problems,
  );
}

export const EMAIL_MAX_LENGTH = 254;
const EMAIL_RE = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** Emails are compared and stored trimmed and lower-cased. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** A pragmatic shape check (local@domain.tld); deliverability is proved by the reset mail. */
export function isValidEmail(email: string): boolean {
  return email.length <= EMAIL_MAX_LENGTH && EMAIL_RE.test(email);
}

export const DISPLAY_NAME_MAX_LENGTH = 100;

/** Names of people, keys, tenants: 1..100 characters after trimming, no control characters. */
export function nameProblem(value: unknown, maxLength = DISPLAY_NAME_MAX_LENGTH): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const trimmed = value.trim();
  if (trimmed.length === 0) return 'must not be empty';
  if ([...trimmed].length > maxLength) return `must be at most ${maxLength} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return 'must not contain control characters';
  return null;
}

export function iso(date: Date): string {
  return date.toISOString();
}

export function millis(isoInstant: string): number {
  return Date.parse(isoInstant);
}
