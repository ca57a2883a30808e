import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { AppError } from '../common/errors/app-error';
import { newId } from '../common/ids';
import type { AppConfig } from '../config/config';
import { CommandExecutor } from '../eventstore/command-executor';
import type { CommandContext } from '../kernel/command-context';
import type { Position } from '../kernel/position';
import { LedgerClock } from '../events/ledger-clock';
import { APP_CONFIG, PG_POOL } from '../platform/tokens';
import { WEBHOOK_SECRETS, WebhookDispatcher } from './webhook-dispatcher';
import { resolveTarget } from './webhook-http';
import { WebhookSecrets } from './webhook-secrets';
import { webhookDecider } from './domain/webhook';
import type { CreateWebhookDto } from './webhooks.dto';

export interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  is_active: boolean;
  has_secret: true;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryJson {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  last_attempt_at: string | null;
  delivered_at: string | null;
}

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  is_active: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function webhookJson(r: WebhookRow): WebhookJson {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    is_active: r.is_active,
    has_secret: true,
    disabled_reason: r.disabled_reason,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export function deliveryJson(r: DeliveryRow): DeliveryJson {
  return {
    id: r.id,
    event_id: r.event_id,
    event_type: r.event_type,
    status: r.status,
    attempts: r.attempts,
    next_attempt_at: iso(r.next_attempt_at),
    last_status_code: r.last_status_code,
    last_error: r.last_error,
    created_at: r.created_at.toISOString(),
    last_attempt_at: iso(r.last_attempt_at),
    delivered_at: iso(r.delivered_at),
  };
}

@Injectable()
export class WebhooksService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRETS) private readonly secrets: WebhookSecrets,
    private readonly commands: CommandExecutor,
    private readonly dispatcher: WebhookDispatcher,
    private readonly clock: LedgerClock,
  ) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') return [];
      throw err;
    }
  }

  async create(
    dto: CreateWebhookDto,
    ctx: CommandContext,
    tenantId: string,
  ): Promise<{ id: string; position: Position | null; generatedSecret: string | null }> {
    const target = await resolveTarget(dto.url, this.config.webhooksAllowPrivateTargets);
    if (!target.ok) {
      throw AppError.validation(`url is not allowed: ${target.message}`, [
        { path: 'url', message: target.message },
      ]);
    }
    const generatedSecret = dto.secret ? null : `whsec_${randomBytes(24).toString('base64url')}`;
    const secret = dto.secret ?? (generatedSecret as string);
    // The id follows the command id, so a retried request (Idempotency-Key) names the same webhook.
    const webhookId = ctx.commandId;
    const result = await this.commands.execute(
      webhookDecider,
      webhookId,
      {
        type: 'CreateWebhook',
        webhookId,
        tenantId,
        url: target.url.toString(),
        events: [...new Set(dto.events)],
        isActive: dto.is_active ?? true,
        secretEnc: this.secrets.encrypt(webhookId, secret),
        now: ctx.now,
      },
      ctx,
    );
    return { id: webhookId, position: result.position, generatedSecret };
  }

  async list(tenantId: string): Promise<WebhookJson[]> {
    const rows = await this.rows<WebhookRow>(
      `SELECT id, url, events, is_active, disabled_reason, created_at, updated_at FROM webhooks
        WHERE tenant_id = $1 AND NOT deleted ORDER BY created_at, id`,
      [tenantId],
    );
    return rows.map(webhookJson);
  }

  async get(tenantId: string, id: string): Promise<WebhookJson> {
    const rows = await this.rows<WebhookRow>(
      `SELECT id, url, events, is_active, disabled_reason, created_at, updated_at FROM webhooks
        WHERE tenant_id = $1 AND id::text = $2 AND NOT deleted`,
      [tenantId, id],
    );
    if (!rows[0]) throw AppError.notFound('webhook', id);
    return webhookJson(rows[0]);
  }

  async delete(tenantId: string, id: string, ctx: CommandContext): Promise<Position | null> {
    await this.get(tenantId, id);
    const result = await this.commands.execute(
      webhookDecider,
      id,
      { type: 'DeleteWebhook', now: ctx.now },
      ctx,
    );
    return result.position;
  }

  /** Sends one test payload now and returns the delivery as recorded. */
  async test(tenantId: string, id: string): Promise<DeliveryJson> {
    const webhook = await this.get(tenantId, id);
    const eventId = newId();
    const deliveryId = newId();
    const now = this.clock.now();
    const payload = JSON.stringify({
      id: eventId,
      type: 'WebhookTest',
      occurred_at: now.toISOString(),
      tenant_id: tenantId,
      resource: `webhook/${webhook.id}`,
      data: { message: 'This is a test delivery from Nimbus.' },
    });
    await this.pool.query(
      `INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, payload,
         status, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, 'WebhookTest', $5, 'pending', $6, $6)`,
      [deliveryId, webhook.id, tenantId, eventId, payload, now],
    );
    await this.dispatcher.deliverNow(deliveryId);
    const rows = await this.rows<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [
      deliveryId,
    ]);
    return deliveryJson(rows[0]);
  }

  async deliveries(
    tenantId: string,
    id: string,
    after: [string, string] | null,
    limit: number,
  ): Promise<Array<{ row: DeliveryJson; key: [string, string] }>> {
    await this.get(tenantId, id);
    const rows = await this.rows<DeliveryRow>(
      `SELECT * FROM webhook_deliveries
        WHERE webhook_id = $1 AND tenant_id = $2
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [id, tenantId, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows.map((r) => ({ row: deliveryJson(r), key: [r.created_at.toISOString(), r.id] }));
  }
}
