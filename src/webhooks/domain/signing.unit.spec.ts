import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  EVENT_HEADER,
  EVENT_ID_HEADER,
  signDelivery,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyDelivery,
} from './signing';

const body = '{"id":"evt-1","type":"instance.launched","data":{"name":"web-01"}}';
const NOW = 1_767_657_600; // 2026-01-06T00:00:00Z

describe('webhook signing', () => {
  it('signs "<timestamp>.<raw body>" with HMAC-SHA256, hex', () => {
    const expected = createHmac('sha256', 'shared-secret').update(`${NOW}.${body}`).digest('hex');
    expect(computeSignature('shared-secret', NOW, body)).toBe(expected);
    expect(computeSignature('shared-secret', NOW, Buffer.from(body))).toBe(expected);
    expect(
      signDelivery({
        secret: 'shared-secret',
        eventType: 'instance.launched',
        eventId: 'evt-1',
        timestamp: NOW,
        rawBody: body,
      }),
    ).toEqual({
      'Content-Type': 'application/json',
      [EVENT_HEADER]: 'instance.launched',
      [EVENT_ID_HEADER]: 'evt-1',
      [TIMESTAMP_HEADER]: String(NOW),
      [SIGNATURE_HEADER]: `sha256=${expected}`,
    });
  });

  const headers = signDelivery({
    secret: 's3cret',
    eventType: 'x',
    eventId: 'e',
    timestamp: NOW,
    rawBody: body,
  });
  const verify = (overrides: Partial<Parameters<typeof verifyDelivery>[0]> = {}) =>
    verifyDelivery({
      secrets: 's3cret',
      rawBody: body,
      signatureHeader: headers[SIGNATURE_HEADER],
      timestampHeader: headers[TIMESTAMP_HEADER],
      now: NOW,
      ...overrides,
    });

  it.each<[string, Partial<Parameters<typeof verifyDelivery>[0]>, string | null]>([
    ['the untouched delivery', {}, null],
    ['299 s later', { now: NOW + 299 }, null],
    ['300 s later (edge of the window)', { now: NOW + 300 }, null],
    ['301 s later', { now: NOW + 301 }, 'timestamp_out_of_window'],
    ['a clock 301 s behind', { now: NOW - 301 }, 'timestamp_out_of_window'],
    ['a wider window', { now: NOW + 600, toleranceSeconds: 900 }, null],
    ['a changed body', { rawBody: body.replace('web-01', 'web-02') }, 'signature_mismatch'],
    [
      're-serialised JSON',
      { rawBody: JSON.stringify(JSON.parse(body), null, 2) },
      'signature_mismatch',
    ],
    ['another secret', { secrets: 'other' }, 'signature_mismatch'],
    ['rotation: old and new secrets', { secrets: ['new', 's3cret'] }, null],
    [
      'a replayed signature with a new timestamp',
      { timestampHeader: String(NOW + 1) },
      'signature_mismatch',
    ],
    ['no signature', { signatureHeader: undefined }, 'missing_header'],
    ['no timestamp', { timestampHeader: null }, 'missing_header'],
    [
      'a timestamp in milliseconds-with-junk',
      { timestampHeader: '1767657600.5' },
      'malformed_timestamp',
    ],
    ['another scheme', { signatureHeader: `sha1=${'a'.repeat(40)}` }, 'malformed_signature'],
    ['a short MAC', { signatureHeader: 'sha256=abcd' }, 'malformed_signature'],
  ])('%s', (_name, overrides, reason) => {
    expect(verify(overrides)).toEqual(reason === null ? { ok: true } : { ok: false, reason });
  });

  it('accepts one good value among several in the header', () => {
    const good = headers[SIGNATURE_HEADER];
    expect(verify({ signatureHeader: `sha256=${'0'.repeat(64)}, ${good}` })).toEqual({ ok: true });
  });
});
