/**
 * Billing periods are calendar months in UTC. Instants inside billing are whole seconds since the
 * Unix epoch (`number`, safe integers); an interval is half-open `[start, end)`.
 */

import { AppError } from '../../common/errors/app-error';

export interface BillingPeriod {
  /** "YYYY-MM". */
  key: string;
  year: number;
  /** 1..12 */
  month: number;
  /** Epoch seconds of the first instant, 00:00:00Z of the 1st. */
  start: number;
  /** Epoch seconds of the first instant of the next month (exclusive). */
  end: number;
}

const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function periodOf(year: number, month: number): BillingPeriod {
  if (!Number.isInteger(year) || year < 1970 || year > 9999) {
    throw new RangeError(`year out of range: ${year}`);
  }
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`month out of range: ${month}`);
  }
  return {
    key: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`,
    year,
    month,
    start: Date.UTC(year, month - 1, 1) / 1000,
    end: Date.UTC(year, month, 1) / 1000,
  };
}

/** Parses `period=YYYY-MM` (1970-01 .. 9999-12); anything else is a 400 `validation_error`. */
export function parsePeriod(text: string, field = 'period'): BillingPeriod {
  const m = PERIOD_RE.exec(text);
  const year = m ? Number(m[1]) : NaN;
  if (!m || year < 1970) {
    throw AppError.validation(`${field} must be a month as YYYY-MM (e.g. 2026-01)`, [
      { path: field, message: 'expected YYYY-MM with a month 01..12, from 1970-01' },
    ]);
  }
  return periodOf(year, Number(m[2]));
}

/** The period containing the instant (epoch seconds). */
export function periodContaining(epochSeconds: number): BillingPeriod {
  const d = new Date(epochSeconds * 1000);
  return periodOf(d.getUTCFullYear(), d.getUTCMonth() + 1);
}

export function nextPeriod(period: BillingPeriod): BillingPeriod {
  return period.month === 12
    ? periodOf(period.year + 1, 1)
    : periodOf(period.year, period.month + 1);
}

/** Instants from RFC 3339 text or a Date, floored to the whole second (per-second billing). */
export function toEpochSeconds(at: string | Date): number {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(at)}`);
  return Math.floor(ms / 1000);
}

/** "2026-01-31T23:59:59Z": RFC 3339 in UTC without fractional seconds. */
export function formatInstant(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The period as the summary presents it: `period_end` is the last whole second of the month
 * (`2026-01-31T23:59:59Z`, as the API seed shows), while computations use the exclusive end.
 */
export function presentPeriodBounds(period: BillingPeriod): {
  period_start: string;
  period_end: string;
} {
  return { period_start: formatInstant(period.start), period_end: formatInstant(period.end - 1) };
}
