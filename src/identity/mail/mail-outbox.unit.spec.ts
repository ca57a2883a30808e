import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../kernel/retry';
import { DEFAULT_MAIL_RETRY, formatMessage, isPermanentFailure } from './mail-outbox';

describe('mail outbox helpers', () => {
  it('backs off exponentially from the first delay, capped', () => {
    const policy = { initialDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 9 };
    expect([1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(policy, n))).toEqual([
      1000, 2000, 4000, 5000, 5000, 5000,
    ]);
    expect(retryDelayMs(DEFAULT_MAIL_RETRY, 1)).toBe(10_000);
  });

  it('only a 5xx answer that is not an authentication failure is permanent', () => {
    expect(isPermanentFailure({ responseCode: 550, code: 'EENVELOPE' })).toBe(true);
    expect(isPermanentFailure({ responseCode: 554, code: 'EMESSAGE' })).toBe(true);
    expect(isPermanentFailure({ responseCode: 535, code: 'EAUTH' })).toBe(false);
    expect(isPermanentFailure({ responseCode: 451, code: 'EENVELOPE' })).toBe(false);
    expect(isPermanentFailure(Object.assign(new Error('x'), { code: 'ECONNECTION' }))).toBe(false);
    expect(isPermanentFailure('boom')).toBe(false);
  });

  it('formats CRLF text with one-line headers (no header injection)', () => {
    const raw = formatMessage(
      { to: 'a@example.com>\r\nBcc: <evil@example.com', subject: 'Hi\r\nBcc: x', text: 'a\nb' },
      { from: 'Nimbus <no-reply@nimbus.test>', messageId: 'm1', at: new Date(0) },
    );
    const [head, body] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual([
      'From: Nimbus <no-reply@nimbus.test>',
      'To: <a@example.comBcc: evil@example.com>',
      'Subject: Hi Bcc: x',
      'Date: Thu, 01 Jan 1970 00:00:00 GMT',
      'Message-ID: <m1@nimbus.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ]);
    expect(body).toBe('a\r\nb\r\n');
  });
});
