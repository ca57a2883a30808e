/**
 * Exact money for billing. No binary floats anywhere in the arithmetic.
 *
 * Two integer units, both bigint:
 *
 * - **Micros** (`bigint`): micro-USD, 1 USD = 1_000_000. Prices are micros: `price_per_hour` 0.02
 *   is 20_000 micro-USD per hour. Prices with more than six decimals are refused.
 * - **Metered** (`bigint`): the exact cost of usage, in units of 1/3600 micro-USD
 *   ("micro-USD·seconds per hour"). Usage cost is `unit price (micros per unit-hour) × quantity ×
 *   seconds / 3600`; counting in 1/3600 micro-USD keeps that an integer, so it is exact.
 *
 * Why this design: every amount is additive without loss. Splitting an interval at a month
 * boundary, or at a price change, gives pieces whose metered amounts sum to exactly the metered
 * amount of the whole; the total of a period is the exact sum of its pieces. Nothing is rounded
 * while folding, storing or summing.
 *
 * **Rounding happens once, at presentation**: a metered amount shown to a client is rounded
 * **half-even to cents** from its exact value (`presentCents`). Each figure shown is rounded on
 * its own from its own exact value: a usage record's `amount` from that record's exact amount,
 * `total_amount` from the exact sum of the period. So the summary never carries accumulated
 * rounding errors; a client summing N displayed line amounts may differ from `total_amount` by at
 * most N/2 cents, which is inherent to showing cents per line. Within one summary the per-type
 * figures are apportioned (see `apportionCents`) so that they add up to `total_amount` exactly.
 */

import { AppError } from '../../common/errors/app-error';

export type Micros = bigint;
export type Metered = bigint;

export const MICROS_PER_USD = 1_000_000n;
export const MICROS_PER_CENT = 10_000n;
export const SECONDS_PER_HOUR = 3600n;
/** Metered units in one cent: 10_000 micros × 3600. */
export const METERED_PER_CENT = MICROS_PER_CENT * SECONDS_PER_HOUR;
export const METERED_PER_MICRO = SECONDS_PER_HOUR;

const DECIMAL_RE = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

/**
 * Parses a non-negative decimal amount of USD ("0.02", "12", "0.000125") into micros, exactly.
 * Refuses signs, exponents, more than six decimals and more than twelve integer digits.
 */
export function parseMicros(text: string): Micros {
  const m = DECIMAL_RE.exec(text);
  if (!m) {
    throw AppError.validation(`not an amount of USD with at most 6 decimals: ${text}`, [
      { path: 'amount', message: 'expected a non-negative decimal with at most 6 decimals' },
    ]);
  }
  const whole = BigInt(m[1]);
  const fraction = BigInt((m[2] ?? '').padEnd(6, '0'));
  return whole * MICROS_PER_USD + fraction;
}

/**
 * Micros from a JSON number such as the catalog's `"price_per_hour": 0.02`. The number's shortest
 * decimal text (what JSON carries) is parsed exactly, so 0.02 gives 20_000, never 19_999.
 */
export function microsFromNumber(value: number): Micros {
  if (!Number.isFinite(value) || value < 0) {
    throw AppError.validation(`not a non-negative finite amount: ${value}`, [
      { path: 'amount', message: 'expected a non-negative finite number' },
    ]);
  }
  return parseMicros(String(value));
}

/** "0.020000"-style text of micros (six decimals), for logs and exact exports. */
export function formatMicros(micros: Micros): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  const whole = abs / MICROS_PER_USD;
  const fraction = (abs % MICROS_PER_USD).toString().padStart(6, '0');
  return `${sign}${whole.toString()}.${fraction}`;
}

/** Price as a JSON number (e.g. `unit_price: 0.02`): the nearest double to an exact 6-decimal value. */
export function microsToNumber(micros: Micros): number {
  return Number(micros) / 1_000_000;
}

/**
 * Exact metered cost of `quantity` units at `unitPrice` micros per unit-hour for `seconds`.
 * `quantity` and `seconds` are non-negative integers.
 */
export function meteredCost(unitPrice: Micros, quantity: number, seconds: number): Metered {
  if (!Number.isSafeInteger(quantity) || quantity < 0) {
    throw new RangeError(`quantity must be a non-negative integer, got ${quantity}`);
  }
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`seconds must be a non-negative integer, got ${seconds}`);
  }
  if (unitPrice < 0n) throw new RangeError('unit price must not be negative');
  return unitPrice * BigInt(quantity) * BigInt(seconds);
}

/** Integer division rounding half to even. `denominator` > 0. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  let quotient = abs / denominator;
  const twiceRemainder = (abs % denominator) * 2n;
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) {
    quotient += 1n;
  }
  return negative ? -quotient : quotient;
}

/** The one presentation rounding: metered amount to whole cents, half-even. */
export function presentCents(amount: Metered): bigint {
  return divideHalfEven(amount, METERED_PER_CENT);
}

/** Metered amount to whole micros, half-even (for exact CSV exports that want more than cents). */
export function presentMicros(amount: Metered): Micros {
  return divideHalfEven(amount, METERED_PER_MICRO);
}

/**
 * Cents as a JSON number with at most two decimals (`150.25`). Exact in the JSON text: the double
 * nearest to `cents / 100` prints back as that decimal because |cents| < 2^53.
 */
export function centsToNumber(cents: bigint): number {
  if (cents > BigInt(Number.MAX_SAFE_INTEGER) || cents < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError('amount too large to present as a JSON number');
  }
  return Number(cents) / 100;
}

/** Cents as fixed two-decimal text ("150.25", "0.00") for CSV and PDF. */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${(abs / 100n).toString()}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** Presentation of a metered amount: rounded half-even to cents, as a JSON number. */
export function presentAmount(amount: Metered): number {
  return centsToNumber(presentCents(amount));
}

/**
 * Apportions a total that was rounded once among its parts so the rounded parts add up to it
 * (largest remainder method). Each part gets its floor in cents; the cents left over go to the
 * parts with the largest remainders, ties to the earlier part, so the result is deterministic.
 * Parts must be non-negative. Returns cents per part, in the order given.
 */
export function apportionCents(parts: readonly Metered[]): { total: bigint; parts: bigint[] } {
  const exactTotal = parts.reduce((sum, p) => {
    if (p < 0n) throw new RangeError('parts must not be negative');
    return sum + p;
  }, 0n);
  const total = presentCents(exactTotal);
  const floors = parts.map((p) => p / METERED_PER_CENT);
  let left = total - floors.reduce((s, f) => s + f, 0n);
  const order = parts
    .map((p, index) => ({ index, remainder: p % METERED_PER_CENT }))
    .sort((a, b) =>
      a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
    );
  const result = [...floors];
  for (const { index } of order) {
    if (left <= 0n) break;
    result[index] += 1n;
    left -= 1n;
  }
  return { total, parts: result };
}
