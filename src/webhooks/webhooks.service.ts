import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { AppError } from '../common/errors/app-error';
import { newId } from '../common/ids';
import { Clock } from '../platform/clock';
import { PG_POOL } from '../platform/tokens';
import { WebhookDispatcher } from './webhook-dispatcher';

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
    private readonly dispatcher: WebhookDispatcher,
    private readonly clock: Clock,
  ) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') return [];
      throw err;
    }
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
