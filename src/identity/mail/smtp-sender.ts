/**
 * The mail outbox's SMTP client (nodemailer), built from NIMBUS_SMTP_URL: `smtp://` (STARTTLS
 * when the server offers it) or `smtps://` (TLS from the first byte), with `user:password@` for
 * AUTH. The stored `.eml` is sent as is (`raw`), with an explicit envelope.
 */
import { createTransport } from 'nodemailer';
import type { MailSender, WireMessage } from './mail-outbox';

export class SmtpMailSender implements MailSender {
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(url: string) {
    // Bounded waits: a server that accepts the connection and then stalls must not hold the
    // outbox forever; the attempt fails and is retried with backoff.
    this.transport = createTransport({
      url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: WireMessage): Promise<void> {
    await this.transport.sendMail({
      envelope: { from: message.from, to: [message.to] },
      raw: message.raw,
    });
  }

  close(): void {
    this.transport.close();
  }
}
