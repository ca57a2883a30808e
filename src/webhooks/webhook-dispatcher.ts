/**
 * Sends due webhook deliveries from the outbox (`webhook_deliveries`, filled by the
 * webhooks.deliveries projection). At least once: a delivery is claimed (its next attempt pushed
 * past a lease) in a short transaction with SKIP LOCKED, so several processes share the work;
 * a crash mid-attempt leaves it due again when the lease ends. Each attempt is signed with the
 * webhook's secret, its outcome and the next attempt (exponential backoff, persisted) recorded;
 * after too many failures in a row the webhook is disabled with a WebhookDisabled event.
 */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { CommandExecutor } from '../eventstore/command-executor';
import { Clock } from '../platform/clock';
import { newId } from '../common/ids';
import { APP_CONFIG, PG_POOL } from '../platform/tokens';
import {
  afterAttempt,
  isDelivered,
  nextAttempt,
  parseRetryAfter,
  signDelivery,
  type WebhookRetryPolicy,
} from './domain';
import { postOnce } from './webhook-http';
import { WebhookSecrets } from './webhook-secrets';
import { webhookDecider } from './domain/webhook';

export const WEBHOOK_SECRETS = Symbol('WEBHOOK_SECRETS');
export const WEBHOOK_RETRY_POLICY = Symbol('WEBHOOK_RETRY_POLICY');

interface DueDelivery {
  id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  url: string;
  secret_enc: string;
  is_active: boolean;
  deleted: boolean;
}

const CLAIM_LIMIT = 50;
const POLL_MS = 500;

@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRETS) private readonly secrets: WebhookSecrets,
    @Inject(WEBHOOK_RETRY_POLICY) private readonly policy: WebhookRetryPolicy,
    private readonly clock: Clock,
    private readonly commands: CommandExecutor,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => {
          // Before the projection created its tables there is nothing to send.
          if ((err as { code?: string }).code !== '42P01') {
            this.logger.warn(`webhook dispatch failed: ${(err as Error).message}`);
          }
        })
        .finally(() => this.schedule());
    }, POLL_MS);
    this.timer.unref();
  }

  /** Sends every delivery due now; returns how many attempts were made. Serialised per process. */
  async runOnce(): Promise<number> {
    while (this.running) await this.running.catch(() => 0);
    this.running = this.sendDue();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private async sendDue(): Promise<number> {
    let attempts = 0;
    for (;;) {
      const due = await this.claim();
      if (due.length === 0) return attempts;
      await Promise.all(due.map((d) => this.attempt(d)));
      attempts += due.length;
      if (due.length < CLAIM_LIMIT) return attempts;
    }
  }

  private async claim(ids?: string[]): Promise<DueDelivery[]> {
    const now = this.clock.now();
    const lease = new Date(now.getTime() + this.policy.attemptTimeoutMs + 30_000);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<DueDelivery>(
        `SELECT d.id, d.webhook_id, d.tenant_id, d.event_id, d.event_type, d.payload, d.attempts,
                w.url, w.secret_enc, w.is_active, w.deleted
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.status IN ('pending', 'retrying')
            AND ($3::uuid[] IS NULL AND d.next_attempt_at <= $1 OR d.id = ANY($3::uuid[]))
          ORDER BY d.next_attempt_at, d.id
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED`,
        [now, CLAIM_LIMIT, ids ?? null],
      );
      if (rows.length > 0) {
        await client.query(
          'UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = ANY($1::uuid[])',
          [rows.map((r) => r.id), lease],
        );
      }
      await client.query('COMMIT');
      return rows;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Attempts one delivery now, whatever its schedule (POST /webhooks/:id/test). */
  async deliverNow(deliveryId: string): Promise<void> {
    const due = await this.claim([deliveryId]);
    for (const d of due) await this.attempt(d);
  }

  private async attempt(d: DueDelivery): Promise<void> {
    if (d.deleted || !d.is_active) {
      await this.pool.query(
        `UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL,
           last_error = $2 WHERE id = $1`,
        [d.id, d.deleted ? 'webhook deleted' : 'webhook disabled'],
      );
      return;
    }
    const startedAt = this.clock.now();
    const attempt = d.attempts + 1;
    let result;
    try {
      const secret = this.secrets.decrypt(d.webhook_id, d.secret_enc);
      const headers = signDelivery({
        secret,
        eventType: d.event_type,
        eventId: d.event_id,
        timestamp: Math.floor(startedAt.getTime() / 1000),
        rawBody: d.payload,
      });
      result = await postOnce({
        url: d.url,
        headers,
        body: d.payload,
        timeoutMs: this.policy.attemptTimeoutMs,
        allowPrivateTargets: this.config.webhooksAllowPrivateTargets,
      });
    } catch (err) {
      result = {
        statusCode: null,
        error: (err as Error).message,
        retryAfter: null,
        refused: false,
      };
    }
    const delivered = isDelivered(result.statusCode);
    const error = result.error ?? (delivered ? null : `HTTP ${result.statusCode ?? 'no status'}`);
    let status: 'delivered' | 'retrying' | 'failed' = 'delivered';
    let next: Date | null = null;
    if (!delivered) {
      const decision = nextAttempt(
        this.policy,
        attempt,
        Math.random(),
        parseRetryAfter(result.retryAfter),
      );
      if (decision.retry) {
        status = 'retrying';
        next = new Date(this.clock.now().getTime() + decision.delayMs);
      } else status = 'failed';
    }
    await this.pool.query(
      `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
         last_status_code = $5, last_error = $6, last_attempt_at = $7,
         delivered_at = CASE WHEN $2 = 'delivered' THEN $7 ELSE delivered_at END
       WHERE id = $1`,
      [d.id, status, attempt, next, result.statusCode, error, startedAt],
    );
    await this.recordHealth(d, delivered);
  }

  private async recordHealth(d: DueDelivery, delivered: boolean): Promise<void> {
    const { rows } = await this.pool.query<{ consecutive_failures: number }>(
      'SELECT consecutive_failures FROM webhook_health WHERE webhook_id = $1',
      [d.webhook_id],
    );
    const health = afterAttempt(
      this.policy,
      { consecutiveFailures: rows[0]?.consecutive_failures ?? 0 },
      delivered,
    );
    await this.pool.query(
      `INSERT INTO webhook_health (webhook_id, consecutive_failures) VALUES ($1, $2)
       ON CONFLICT (webhook_id) DO UPDATE SET consecutive_failures = EXCLUDED.consecutive_failures`,
      [d.webhook_id, health.consecutiveFailures],
    );
    if (!health.disable) return;
    await this.commands.execute(
      webhookDecider,
      d.webhook_id,
      {
        type: 'DisableWebhook',
        reason: `${health.consecutiveFailures} delivery attempts failed in a row`,
        consecutiveFailures: health.consecutiveFailures,
        now: this.clock.now(),
      },
      {
        commandId: newId(),
        tenantId: d.tenant_id,
        actor: { type: 'system', id: 'webhooks' },
        requestId: null,
        sourceIp: null,
        correlationId: d.event_id,
        causationId: d.event_id,
        now: this.clock.now(),
      },
    );
    this.logger.warn(
      `webhook ${d.webhook_id} disabled after ${health.consecutiveFailures} failures`,
    );
  }
}
