import type { EntityManager } from 'typeorm';
import { uuidV5 } from '../../src/common/ids';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import { eventPayload } from '../../src/webhooks/domain/payload';
import { subscribes, type WebhookEvent } from '../../src/webhooks/domain/webhook';
import { defineProjection } from '../runtime/projection';

export const WEBHOOKS_PROJECTION = 'webhooks.deliveries';

/**
 * Webhook subscriptions (`webhooks`, rebuilt from Webhook* events) and the delivery outbox
 * (`webhook_deliveries`). For every event of a tenant, each of its active subscriptions whose
 * filter takes the event type gets one delivery row, written in the batch's transaction with the
 * checkpoint: no event is enqueued twice or skipped (at-least-once delivery starts here). The
 * dispatcher (src/webhooks/webhook-dispatcher.ts) sends due rows and keeps their schedule.
 *
 * Deliveries and health are a record of side effects, not derivable from the log: `reset` leaves
 * them, and a rebuild re-enqueues nothing that exists (unique webhook + event).
 */
export const webhooksProjection = defineProjection({
  name: WEBHOOKS_PROJECTION,
  version: 1,
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS webhooks (
      id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      url text NOT NULL,
      events text[] NOT NULL,
      is_active boolean NOT NULL,
      secret_enc text NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      disabled_reason text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS webhooks_tenant ON webhooks (tenant_id) WHERE NOT deleted',
    );
    await manager.query(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
      id uuid PRIMARY KEY,
      webhook_id uuid NOT NULL,
      tenant_id text NOT NULL,
      event_id uuid NOT NULL,
      event_type text NOT NULL,
      payload text NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      created_at timestamptz NOT NULL,
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      UNIQUE (webhook_id, event_id)
    )`);
    await manager.query(
      `CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
         WHERE status IN ('pending', 'retrying')`,
    );
    await manager.query(
      'CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC, id DESC)',
    );
    await manager.query(`CREATE TABLE IF NOT EXISTS webhook_health (
      webhook_id uuid PRIMARY KEY,
      consecutive_failures integer NOT NULL
    )`);
  },
  async reset(manager) {
    await manager.query('TRUNCATE webhooks');
  },
  async apply(events, manager) {
    await applyWebhookBatch(events, manager);
  },
});

interface Subscription {
  id: string;
  events: string[];
  active: boolean;
}

async function applyWebhookBatch(
  events: readonly RecordedEvent[],
  manager: EntityManager,
): Promise<void> {
  const tenants = new Set<string>();
  for (const e of events) if (e.metadata.tenantId) tenants.add(e.metadata.tenantId);
  if (tenants.size === 0) return;
  const rows = await manager.query<
    Array<{ id: string; tenant_id: string; events: string[]; is_active: boolean }>
  >(
    'SELECT id, tenant_id, events, is_active FROM webhooks WHERE NOT deleted AND tenant_id = ANY($1::text[])',
    [[...tenants]],
  );
  const byTenant = new Map<string, Map<string, Subscription>>();
  const subsOf = (tenant: string): Map<string, Subscription> => {
    let m = byTenant.get(tenant);
    if (!m) {
      m = new Map<string, Subscription>();
      byTenant.set(tenant, m);
    }
    return m;
  };
  for (const r of rows)
    subsOf(r.tenant_id).set(r.id, { id: r.id, events: r.events, active: r.is_active });

  const deliveries: Array<{ id: string; webhook: string; tenant: string; event: RecordedEvent }> =
    [];
  for (const event of events) {
    const tenant = event.metadata.tenantId;
    if (!tenant) continue;
    if (event.type.startsWith('Webhook')) {
      await applySubscriptionEvent(event, subsOf(tenant), manager);
      continue;
    }
    for (const sub of subsOf(tenant).values()) {
      if (sub.active && subscribes(sub.events, event.type)) {
        deliveries.push({
          id: uuidV5(`webhook-delivery/${sub.id}/${event.id}`),
          webhook: sub.id,
          tenant,
          event,
        });
      }
    }
  }
  if (deliveries.length === 0) return;
  await manager.query(
    `INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, payload, status,
       next_attempt_at, created_at)
     SELECT d.id, d.webhook_id, d.tenant_id, d.event_id, d.event_type, d.payload, 'pending', now(), now()
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[])
         AS d(id, webhook_id, tenant_id, event_id, event_type, payload)
     ON CONFLICT (webhook_id, event_id) DO NOTHING`,
    [
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.webhook),
      deliveries.map((d) => d.tenant),
      deliveries.map((d) => d.event.id),
      deliveries.map((d) => d.event.type),
      deliveries.map((d) => JSON.stringify(eventPayload(d.event))),
    ],
  );
}

async function applySubscriptionEvent(
  recorded: RecordedEvent,
  subs: Map<string, Subscription>,
  manager: EntityManager,
): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as WebhookEvent;
  switch (event.type) {
    case 'WebhookCreated': {
      const d = event.data;
      await manager.query(
        `INSERT INTO webhooks (id, tenant_id, url, events, is_active, secret_enc, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING`,
        [d.webhookId, d.tenantId, d.url, d.events, d.isActive, d.secretEnc, d.at],
      );
      subs.set(d.webhookId, { id: d.webhookId, events: d.events, active: d.isActive });
      return;
    }
    case 'WebhookDeleted':
      await manager.query('UPDATE webhooks SET deleted = true, updated_at = $2 WHERE id = $1', [
        event.data.webhookId,
        event.data.at,
      ]);
      subs.delete(event.data.webhookId);
      return;
    case 'WebhookDisabled': {
      await manager.query(
        'UPDATE webhooks SET is_active = false, disabled_reason = $2, updated_at = $3 WHERE id = $1',
        [event.data.webhookId, event.data.reason, event.data.at],
      );
      const sub = subs.get(event.data.webhookId);
      if (sub) sub.active = false;
      return;
    }
    default:
      return;
  }
}
