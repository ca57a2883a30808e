/**
 * Outgoing mail (password reset tokens), durable before anyone is told it was sent.
 *
 * Without an SMTP server (NIMBUS_SMTP_URL unset) every message is an RFC 5322 `.eml` file under
 * `<data dir>/mail/` (mode 0600), where a self-hosting user (or a test) finds it. Nothing else
 * happens to it.
 *
 * With an SMTP server (a `MailSender`):
 *   1. `send` writes the message to `mail/outbox/<name>.eml` (temporary file, then rename) before
 *      it returns, so the caller answers only once the message survives a crash;
 *   2. delivery runs in the background, never in the request: one run at a time, oldest first;
 *   3. a delivered message is deleted (its body holds a live reset token, which has no business
 *      lying on disk once the mail server has it);
 *   4. a failed attempt leaves the message where it is and records, in `<name>.delivery.json`,
 *      the attempt count, the last error and when to try next (exponential backoff from
 *      `retry.firstDelayMs`, capped at `retry.maxDelayMs`); a timer (and every later `send`, and
 *      the next start of the process) tries again once it is due;
 *   5. a message the server refuses for good (a 5xx answer to the envelope or the data) or that
 *      failed `retry.maxAttempts` times is moved to `mail/failed/` with its delivery record and
 *      logged: never deleted, never retried on its own (move it back to `outbox/` to retry).
 * Delivery is at least once: a crash after the server accepted a message and before its file is
 * deleted sends it again on the next start. One process delivers a data directory's outbox.
 */
import { retryDelayMs, type RetryPolicy } from '../../kernel/retry';
import { randomUUID } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

/** A message ready for the wire: the envelope and the RFC 5322 text as stored on disk. */
export interface WireMessage {
  from: string;
  to: string;
  raw: string;
}

/** Hands a message to a mail server; rejects with the server's (or the network's) error. */
export interface MailSender {
  send(message: WireMessage): Promise<void>;
  close(): void;
}

/** 10 s, 20 s, 40 s ... capped at 15 min; 12 attempts span about 1 h 30 min. */
export const DEFAULT_MAIL_RETRY: RetryPolicy = {
  initialDelayMs: 10_000,
  maxDelayMs: 15 * 60_000,
  maxAttempts: 12,
};

/** What the outbox remembers about a pending message between attempts. */
export interface DeliveryRecord {
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
}

export interface DeliveryReport {
  sent: number;
  retrying: number;
  failed: number;
}

/** A delivery error the server will answer the same way next time (5xx, not authentication). */
export function isPermanentFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { responseCode, code } = err as { responseCode?: unknown; code?: unknown };
  return (
    typeof responseCode === 'number' &&
    responseCode >= 500 &&
    responseCode < 600 &&
    code !== 'EAUTH'
  );
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/** The address inside `Name <address>` (or a bare address). */
function envelopeAddress(from: string): string {
  const m = /<([^<>]+)>/.exec(from);
  return (m ? m[1] : from).trim();
}

/** RFC 5322 text of a plain-text message (CRLF line ends, header values on one line). */
export function formatMessage(
  mail: OutgoingMail,
  options: { from: string; messageId: string; at: Date },
): string {
  const domain = envelopeAddress(options.from).split('@')[1] ?? 'localhost';
  const headers = [
    `From: ${oneLine(options.from)}`,
    `To: <${mail.to.replace(/[\r\n<>]/g, '')}>`,
    `Subject: ${oneLine(mail.subject)}`,
    `Date: ${options.at.toUTCString()}`,
    `Message-ID: <${options.messageId}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${mail.text.replace(/\r?\n/g, '\r\n')}\r\n`;
}

interface OutboxLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const SILENT: OutboxLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface MailOutboxOptions {
  /** `<data dir>/mail` */
  directory: string;
  /** The From header (`Name <address>`); its address is the envelope sender. */
  from: string;
  now: () => Date;
  /** The SMTP sender; null or absent: messages stay as files in `directory`. */
  sender?: MailSender | null;
  retry?: RetryPolicy;
  logger?: OutboxLogger;
}

export class MailOutbox {
  readonly directory: string;
  private readonly from: string;
  private readonly now: () => Date;
  private readonly sender: MailSender | null;
  private readonly retry: RetryPolicy;
  private readonly logger: OutboxLogger;
  private running: Promise<DeliveryReport> | null = null;
  private rerun = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: MailOutboxOptions) {
    this.directory = options.directory;
    this.from = options.from;
    this.now = options.now;
    this.sender = options.sender ?? null;
    this.retry = options.retry ?? DEFAULT_MAIL_RETRY;
    this.logger = options.logger ?? SILENT;
  }

  /** `files`: `.eml` files only; `smtp`: files in `outbox/`, delivered in the background. */
  get mode(): 'files' | 'smtp' {
    return this.sender ? 'smtp' : 'files';
  }

  /** Messages waiting for delivery (smtp mode). */
  get outboxDirectory(): string {
    return join(this.directory, 'outbox');
  }

  /** Messages given up on (smtp mode). */
  get failedDirectory(): string {
    return join(this.directory, 'failed');
  }

  /**
   * Stores the message (durably, before returning) and, with SMTP, starts a background delivery;
   * returns the file's path. Never waits for the network, so answering a request does not depend
   * on whether a message was sent.
   */
  send(mail: OutgoingMail): string {
    const at = this.now();
    const id = randomUUID();
    const name = `${at.toISOString().replace(/[:.]/g, '-')}-${id}.eml`;
    const directory = this.sender ? this.outboxDirectory : this.directory;
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const path = join(directory, name);
    writeAtomically(path, formatMessage(mail, { from: this.from, messageId: id, at }));
    if (this.sender) this.kick();
    return path;
  }

  /** The `.eml` files waiting in `outbox/`, oldest first. */
  pendingMessages(): string[] {
    return emlFiles(this.outboxDirectory).map((f) => join(this.outboxDirectory, f));
  }

  /** The delivery record of a pending or failed message (null before its first attempt). */
  deliveryRecord(emlPath: string): DeliveryRecord | null {
    const path = recordPathOf(emlPath);
    if (!existsSync(path)) return null;
    return JSON.parse(readFileSync(path, 'utf8')) as DeliveryRecord;
  }

  /** Delivers what is left from before a restart (no-op without SMTP). */
  start(): void {
    if (this.sender && this.pendingMessages().length > 0) this.kick();
  }

  /**
   * Tries every message whose next attempt is due now. One run at a time: a call during a run
   * makes that run go round once more and resolves with it, so a message stored before the call
   * has had its attempt when the promise resolves.
   */
  deliverDue(): Promise<DeliveryReport> {
    if (!this.sender || this.closed) return Promise.resolve({ sent: 0, retrying: 0, failed: 0 });
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const sender = this.sender;
    this.running = (async () => {
      const total: DeliveryReport = { sent: 0, retrying: 0, failed: 0 };
      try {
        do {
          this.rerun = false;
          const report = await this.runOnce(sender);
          total.sent += report.sent;
          total.retrying += report.retrying;
          total.failed += report.failed;
        } while (this.rerun && !this.closed);
      } finally {
        this.running = null;
        this.scheduleNext();
      }
      return total;
    })();
    return this.running;
  }

  /** Stops the timer, lets a running delivery finish, closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    this.sender?.close();
  }

  private kick(): void {
    this.deliverDue().catch((err: unknown) =>
      this.logger.error(`mail delivery run failed: ${errorText(err)}`),
    );
  }

  private async runOnce(sender: MailSender): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, retrying: 0, failed: 0 };
    for (const path of this.pendingMessages()) {
      if (this.closed) break;
      const record = this.deliveryRecord(path);
      if (record && Date.parse(record.next_attempt_at) > this.now().getTime()) continue;
      let raw: string;
      try {
        raw = readFileSync(path, 'utf8');
      } catch {
        continue; // delivered or moved by a run that overlapped on shutdown
      }
      const to = /^To: <([^>\r\n]*)>\r?$/m.exec(raw)?.[1] ?? '';
      try {
        await sender.send({ from: envelopeAddress(this.from), to, raw });
        rmSync(recordPathOf(path), { force: true });
        rmSync(path, { force: true });
        report.sent += 1;
      } catch (err) {
        const attempts = (record?.attempts ?? 0) + 1;
        const next: DeliveryRecord = {
          attempts,
          next_attempt_at: new Date(
            this.now().getTime() + retryDelayMs(this.retry, attempts),
          ).toISOString(),
          last_error: errorText(err),
        };
        const name = path.slice(this.outboxDirectory.length + 1);
        if (isPermanentFailure(err) || attempts >= this.retry.maxAttempts) {
          this.moveToFailed(path, next);
          report.failed += 1;
          this.logger.error(
            `mail ${name} not delivered after ${attempts} attempt(s), kept in ${this.failedDirectory}: ${next.last_error}`,
          );
        } else {
          writeAtomically(recordPathOf(path), JSON.stringify(next, null, 2));
          report.retrying += 1;
          this.logger.warn(
            `mail ${name}: attempt ${attempts} failed (${next.last_error}); next at ${next.next_attempt_at}`,
          );
        }
      }
    }
    return report;
  }

  private moveToFailed(path: string, record: DeliveryRecord): void {
    mkdirSync(this.failedDirectory, { recursive: true, mode: 0o700 });
    const target = join(this.failedDirectory, path.slice(this.outboxDirectory.length + 1));
    writeAtomically(recordPathOf(target), JSON.stringify(record, null, 2));
    renameSync(path, target);
    rmSync(recordPathOf(path), { force: true });
  }

  /** A timer for the earliest retry still pending (unref'd: it never keeps the process alive). */
  private scheduleNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const path of this.pendingMessages()) {
      const record = this.deliveryRecord(path);
      earliest = Math.min(earliest, record ? Date.parse(record.next_attempt_at) : 0);
    }
    if (!Number.isFinite(earliest)) return;
    const delay = Math.max(earliest - this.now().getTime(), 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
    this.timer.unref();
  }
}

function recordPathOf(emlPath: string): string {
  return emlPath.replace(/\.eml$/, '.delivery.json');
}

function emlFiles(directory: string): string[] {
  try {
    return readdirSync(directory)
      .filter((f) => f.endsWith('.eml'))
      .sort();
  } catch {
    return [];
  }
}

/** Temporary file (0600) then rename: a reader sees the whole file or none of it. */
function writeAtomically(path: string, content: string): void {
  const slash = path.lastIndexOf('/');
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return oneLine(`${typeof code === 'string' ? `${code}: ` : ''}${err.message}`).slice(0, 500);
  }
  return oneLine(String(err)).slice(0, 500);
}
