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
import { login, signUp, uniqueEmail } from './identity.helpers';

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
    const a = await signUp(t, 'smtp-reset');
    const unknown = uniqueEmail('smtp-nobody');
    const answers = await Promise.all([
      t.http().post('/auth/forgot-password').send({ email: unknown }),
      t.http().post('/auth/forgot-password').send({ email: a.email }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(answers[0].body).toEqual(answers[1].body);

    const mail = await sink.waitForMessage((m) => m.to.includes(a.email));
    expect(mail).toMatchObject({ from: 'reset@nimbus.test', user: 'nimbus' });
    expect(mail.data).toContain('From: Nimbus Test <reset@nimbus.test>');
    const token = /^Reset-Token: (\S+)\r$/m.exec(mail.data)?.[1];
    expect(token).toBeDefined();

    const reset = await t
      .http()
      .post('/auth/reset-password')
      .send({ token, new_password: 'smtp-horse-9-battery' });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect((await login(t, a.email, 'smtp-horse-9-battery')).status).toBe(200);

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
