/**
 * Password reset through SMTP: the whole app with NIMBUS_SMTP_URL pointing at a loopback sink
 * (test/int/identity/smtp-sink.ts). The reset mail reaches the sink with a token that works.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailOutbox } from '../../src/identity/mail/mail-outbox';
import { startTestApp, type TestApp } from '../support/app';
import { startSmtpSink, type SmtpSink } from '../int/identity/smtp-sink';
import { sdkFor, sdkSignUp, unwrap } from '../support/sdk';
import { uniqueEmail } from './identity.helpers';

describe('password reset mail over SMTP (e2e)', () => {
  let t: TestApp;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink({ user: 'nimbus', password: 'mail-pass' });
    t = await startTestApp({
      label: 'identity_smtp',
      config: {
        authRateLimitPerMinute: 10_000,
        smtpUrl: `smtp://nimbus:mail-pass@127.0.0.1:${sink.port}`,
        mailFrom: 'Nimbus Test <reset@nimbus.test>',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('forgot-password sends the token over SMTP; the token resets the password; the outbox empties', async () => {
    const a = await sdkSignUp(t, 'smtp-reset');
    const anonymous = sdkFor(t);
    const unknown = uniqueEmail('smtp-nobody');
    const answers = await Promise.all([
      anonymous.POST('/auth/forgot-password', { body: { email: unknown } }),
      anonymous.POST('/auth/forgot-password', { body: { email: a.email } }),
    ]);
    expect(answers.map((r) => r.response.status)).toEqual([200, 200]);
    expect(unwrap(answers[0])).toEqual(unwrap(answers[1]));

    const mail = await sink.waitForMessage((m) => m.to.includes(a.email));
    expect(mail).toMatchObject({ from: 'reset@nimbus.test', user: 'nimbus' });
    expect(mail.data).toContain('From: Nimbus Test <reset@nimbus.test>');
    const token = /^Reset-Token: (\S+)\r$/m.exec(mail.data)?.[1];
    if (!token) throw new Error(`no Reset-Token in ${mail.data}`);

    unwrap(
      await anonymous.POST('/auth/reset-password', {
        body: { token, new_password: 'smtp-horse-9-battery' },
      }),
    );
    const session = unwrap(
      await anonymous.POST('/auth/login', {
        body: { email: a.email, password: 'smtp-horse-9-battery' },
      }),
    );
    expect(session.access_token).toBeTruthy();

    // Delivered mail leaves nothing on disk; nothing was sent for the unknown address.
    const outbox = t.app.get(MailOutbox);
    await outbox.deliverDue();
    expect(outbox.pendingMessages()).toEqual([]);
    const mailDir = join(t.config.dataDir, 'mail');
    expect(readdirSync(mailDir).filter((f) => f.endsWith('.eml'))).toEqual([]);
    expect(existsSync(outbox.failedDirectory)).toBe(false);
    expect(sink.messages.some((m) => m.to.includes(unknown))).toBe(false);
  });
});
