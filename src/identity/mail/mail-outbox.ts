/**
 * Outgoing mail. Without SMTP configuration (none exists yet) every message is written as an
 * RFC 5322 `.eml` file under `<data dir>/mail/` (mode 0600), where a self-hosting user (or a
 * test) finds it. The message body is plain text.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export class MailOutbox {
  constructor(
    readonly directory: string,
    private readonly now: () => Date,
  ) {}

  /** Writes the message; returns the file's path. */
  send(mail: OutgoingMail): string {
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    const at = this.now();
    const id = randomUUID();
    const headers = [
      'From: Nimbus <no-reply@nimbus.local>',
      `To: <${mail.to.replace(/[\r\n<>]/g, '')}>`,
      `Subject: ${mail.subject.replace(/[\r\n]/g, ' ')}`,
      `Date: ${at.toUTCString()}`,
      `Message-ID: <${id}@nimbus.local>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ];
    const path = join(this.directory, `${at.toISOString().replace(/[:.]/g, '-')}-${id}.eml`);
    writeFileSync(
      path,
      `${headers.join('\r\n')}\r\n\r\n${mail.text.replace(/\r?\n/g, '\r\n')}\r\n`,
      {
        mode: 0o600,
      },
    );
    return path;
  }
}
