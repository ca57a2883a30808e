import { AppError } from './errors/app-error';

const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Parses an RFC 3339 instant of a query parameter; anything else is a 400 naming it. */
export function parseInstantParam(value: string | undefined, path: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    throw AppError.validation(`${path} must be an RFC 3339 instant`, [
      { path, message: 'expected an RFC 3339 instant such as 2026-01-05T23:00:00Z' },
    ]);
  }
  return new Date(ms);
}
