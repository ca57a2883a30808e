/**
 * The mail outbox over real SMTP (nodemailer against a loopback sink written with node:net):
 * delivery, retry with backoff after an unreachable server, permanent refusals, leftovers from a
 * previous run. Time is a variable moved by the test; nothing sleeps.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../../src/kernel/retry';
import { MailOutbox } from '../../../src/identity/mail/mail-outbox';
import { SmtpMailSender } from '../../../src/identity/mail/smtp-sender';
import { closedLoopbackPort, startSmtpSink, type SmtpSink } from './smtp-sink';

const FROM = 'Nimbus <no-reply@nimbus.test>';
const RETRY: RetryPolicy = { initialDelayMs: 10_000, maxDelayMs: 60_000, maxAttempts: 3 };

const resetMail = (to: string, token: string) => ({
  to,
  subject: 'Reset your Nimbus password',
  text: `Someone asked to reset the password.\n\nReset-Token: ${token}\n.\n..leading dots survive\n`,
});

describe('mail outbox over SMTP (int)', () => {
  const dirs: string[] = [];
  const sinks: SmtpSink[] = [];
  const outboxes: MailOutbox[] = [];
  let nowMs = Date.parse('2030-01-01T00:00:00Z');

  const mailDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-mail-'));
    dirs.push(dir);
    return join(dir, 'mail');
  };
  const outbox = (directory: string, url: string | null) => {
    const box = new MailOutbox({
      directory,
      from: FROM,
      now: () => new Date(nowMs),
      sender: url ? new SmtpMailSender(url) : null,
      retry: RETRY,
    });
    outboxes.push(box);
    return box;
  };
  const sink = async (options: Parameters<typeof startSmtpSink>[0] = {}) => {
    const s = await startSmtpSink(options);
    sinks.push(s);
    return s;
  };

  afterEach(async () => {
    await Promise.all(outboxes.splice(0).map((b) => b.close()));
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('without SMTP, a message is a 0600 .eml file in the mail directory and nothing is sent', async () => {
    const dir = mailDir();
    const box = outbox(dir, null);
    expect(box.mode).toBe('files');
    const path = box.send(resetMail('a@example.com', 'tok-files'));
    expect(path.startsWith(`${dir}/`)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await box.deliverDue()).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(existsSync(path)).toBe(true);
  });

  it('delivers over SMTP with AUTH: the sink receives the token; the outbox file is gone', async () => {
    const s = await sink({ user: 'mailer', password: 's3cret' });
    const box = outbox(mailDir(), `smtp://mailer:s3cret@127.0.0.1:${s.port}`);
    expect(box.mode).toBe('smtp');
    const path = box.send(resetMail('b@example.com', 'tok-smtp-1'));
    // Stored before send() returns, in outbox/, whatever the network does next.
    expect(path.startsWith(`${box.outboxDirectory}/`)).toBe(true);
    const received = await s.waitForMessage((m) => m.to.includes('b@example.com'));
    expect(received).toMatchObject({ from: 'no-reply@nimbus.test', user: 'mailer' });
    expect(received.data).toMatch(/^Reset-Token: tok-smtp-1\r$/m);
    expect(received.data).toContain('\r\n..leading dots survive\r\n');
    expect(received.data).toContain('From: Nimbus <no-reply@nimbus.test>');
    await box.deliverDue();
    expect(box.pendingMessages()).toEqual([]);
  });

  it('an unreachable server leaves the message in the outbox; it is retried with backoff and delivered', async () => {
    const port = await closedLoopbackPort();
    const box = outbox(mailDir(), `smtp://127.0.0.1:${port}`);
    const path = box.send(resetMail('c@example.com', 'tok-retry'));
    expect(await box.deliverDue()).toEqual({ sent: 0, retrying: 1, failed: 0 });
    expect(box.pendingMessages()).toEqual([path]);
    expect(box.deliveryRecord(path)).toEqual({
      attempts: 1,
      next_attempt_at: new Date(nowMs + 10_000).toISOString(),
      last_error: expect.stringMatching(/ECONNREFUSED|ECONNECTION/),
    });

    // Not due yet: no attempt.
    expect(await box.deliverDue()).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(box.deliveryRecord(path)?.attempts).toBe(1);

    // Due, still unreachable: the wait doubles.
    nowMs += 10_000;
    expect(await box.deliverDue()).toEqual({ sent: 0, retrying: 1, failed: 0 });
    expect(box.deliveryRecord(path)).toMatchObject({
      attempts: 2,
      next_attempt_at: new Date(nowMs + 20_000).toISOString(),
    });

    // The server comes up on that port; the next due attempt delivers.
    const s = await sink({ port });
    nowMs += 20_000;
    expect(await box.deliverDue()).toEqual({ sent: 1, retrying: 0, failed: 0 });
    const received = await s.waitForMessage((m) => m.to.includes('c@example.com'));
    expect(received.data).toContain('Reset-Token: tok-retry');
    expect(box.pendingMessages()).toEqual([]);
    expect(existsSync(path.replace(/\.eml$/, '.delivery.json'))).toBe(false);
  });

  it('gives up after maxAttempts: the message is kept in failed/ with its record, not deleted', async () => {
    const port = await closedLoopbackPort();
    const box = outbox(mailDir(), `smtp://127.0.0.1:${port}`);
    const path = box.send(resetMail('d@example.com', 'tok-exhausted'));
    for (let attempt = 1; attempt <= RETRY.maxAttempts; attempt++) {
      await box.deliverDue();
      nowMs += RETRY.maxDelayMs;
    }
    expect(box.pendingMessages()).toEqual([]);
    const failed = readdirSync(box.failedDirectory);
    const name = path.slice(box.outboxDirectory.length + 1);
    expect(failed.sort()).toEqual([name.replace(/\.eml$/, '.delivery.json'), name].sort());
    expect(box.deliveryRecord(join(box.failedDirectory, name))?.attempts).toBe(RETRY.maxAttempts);
  });

  it('a permanent refusal (550) goes to failed/ at once; other mail still goes out', async () => {
    const s = await sink({ rejectRecipients: (a) => a.startsWith('nobody') });
    const box = outbox(mailDir(), `smtp://127.0.0.1:${s.port}`);
    box.send(resetMail('nobody@example.com', 'tok-refused'));
    box.send(resetMail('e@example.com', 'tok-ok'));
    await box.deliverDue();
    await s.waitForMessage((m) => m.to.includes('e@example.com'));
    expect(box.pendingMessages()).toEqual([]);
    const failed = readdirSync(box.failedDirectory).filter((f) => f.endsWith('.eml'));
    expect(failed).toHaveLength(1);
    expect(box.deliveryRecord(join(box.failedDirectory, failed[0]))).toMatchObject({
      attempts: 1,
      last_error: expect.stringContaining('550'),
    });
    expect(s.messages.map((m) => m.to)).toEqual([['e@example.com']]);
  });

  it('mail left in the outbox by a previous process is delivered by the next one on start', async () => {
    const port = await closedLoopbackPort();
    const dir = mailDir();
    const first = outbox(dir, `smtp://127.0.0.1:${port}`);
    first.send(resetMail('f@example.com', 'tok-restart'));
    await first.deliverDue();
    await first.close();
    expect(first.pendingMessages()).toHaveLength(1);

    const s = await sink({ port });
    nowMs += RETRY.initialDelayMs;
    const second = outbox(dir, `smtp://127.0.0.1:${port}`);
    second.start();
    const received = await s.waitForMessage((m) => m.to.includes('f@example.com'));
    expect(received.data).toContain('Reset-Token: tok-restart');
    await second.deliverDue();
    expect(second.pendingMessages()).toEqual([]);
  });
});
