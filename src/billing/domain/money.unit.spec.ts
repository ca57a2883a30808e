import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import {
  apportionCents,
  centsToNumber,
  divideHalfEven,
  formatCents,
  formatMicros,
  METERED_PER_CENT,
  meteredCost,
  microsFromNumber,
  parseMicros,
  presentAmount,
  presentCents,
} from './money';

describe('money', () => {
  it.each([
    ['0.02', 20_000n],
    ['0', 0n],
    ['12', 12_000_000n],
    ['0.000001', 1n],
    ['150.25', 150_250_000n],
    ['0.1', 100_000n],
  ])('parses %s exactly', (text, micros) => {
    expect(parseMicros(text)).toBe(micros);
  });

  it.each(['-1', '1e-3', '0.0000001', '', '.5', '1.', ' 1', '0x10', '1,5'])(
    'refuses %j',
    (text) => {
      expect(() => parseMicros(text)).toThrow(AppError);
    },
  );

  it('reads JSON numbers through their decimal text, never their binary value', () => {
    expect(microsFromNumber(0.02)).toBe(20_000n);
    expect(microsFromNumber(150.25)).toBe(150_250_000n);
    // A float carrying noise beyond six decimals is refused rather than silently rounded.
    expect(() => microsFromNumber(0.1 + 0.2)).toThrow(AppError);
  });

  it('formats micros and cents', () => {
    expect(formatMicros(20_000n)).toBe('0.020000');
    expect(formatCents(15_025n)).toBe('150.25');
    expect(formatCents(0n)).toBe('0.00');
    expect(formatCents(7n)).toBe('0.07');
    expect(centsToNumber(15_025n)).toBe(150.25);
    expect(JSON.stringify(centsToNumber(1_000_000_01n))).toBe('1000000.01');
  });

  it.each([
    [5n, 10n, 0n], // 0.5 -> 0 (even)
    [15n, 10n, 2n], // 1.5 -> 2
    [25n, 10n, 2n], // 2.5 -> 2
    [26n, 10n, 3n],
    [24n, 10n, 2n],
    [-15n, 10n, -2n],
    [-25n, 10n, -2n],
  ])('divides %d / %d half-even to %d', (n, d, q) => {
    expect(divideHalfEven(n, d)).toBe(q);
  });

  it('rounds usage half-even to cents, once', () => {
    // 0.01 USD/h for 30 min = 0.005 -> 0.00; for 90 min = 0.015 -> 0.02
    expect(presentCents(meteredCost(10_000n, 1, 1800))).toBe(0n);
    expect(presentCents(meteredCost(10_000n, 1, 5400))).toBe(2n);
    expect(presentAmount(meteredCost(20_000n, 1, 3600))).toBe(0.02);
  });

  it('keeps splitting exact: pieces add up to the whole, to the unit', () => {
    const whole = meteredCost(20_000n, 3, 7_777);
    const parts = meteredCost(20_000n, 3, 1) + meteredCost(20_000n, 3, 7_776);
    expect(parts).toBe(whole);
  });

  it('apportions cents so parts add up to the rounded total', () => {
    const half = METERED_PER_CENT / 2n; // 0.005
    const r = apportionCents([half, half, 0n]);
    expect(r.total).toBe(1n);
    expect(r.parts).toEqual([1n, 0n, 0n]);
    expect(r.parts.reduce((a, b) => a + b, 0n)).toBe(r.total);
    const r2 = apportionCents([METERED_PER_CENT * 3n + 1n, METERED_PER_CENT - 1n, half]);
    expect(r2.total).toBe(presentCents(METERED_PER_CENT * 4n + half));
    expect(r2.parts.reduce((a, b) => a + b, 0n)).toBe(r2.total);
    expect(r2.parts).toEqual([3n, 1n, 0n]);
  });
});
