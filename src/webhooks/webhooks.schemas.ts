import { z } from 'zod';
import { timestamp, uuid } from '../platform/http/api-schema';

export const WebhookSchema = z
  .object({
    id: uuid(),
    url: z.string(),
    events: z.array(z.string()),
    is_active: z.boolean(),
    has_secret: z.literal(true),
    disabled_reason: z.string().nullable(),
    created_at: timestamp(),
    updated_at: timestamp(),
  })
  .meta({
    id: 'Webhook',
    example: {
      id: '7c6b5a49-3827-4165-9f0e-d1c2b3a49586',
      url: 'https://hooks.example.com/nimbus',
      events: ['InstanceLaunched'],
      is_active: true,
      has_secret: true,
      disabled_reason: null,
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:00.000Z',
    },
  });

/** The creation answer: the subscription and its signing secret, shown once. */
export const CreatedWebhookSchema = z
  .union([
    WebhookSchema.extend({ secret: z.string().optional() }),
    z.object({ id: uuid(), secret: z.string().optional() }),
  ])
  .meta({ id: 'CreatedWebhook' });

export const WebhookDeliverySchema = z
  .object({
    id: uuid(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.string(),
    attempts: z.number().int(),
    next_attempt_at: timestamp().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: timestamp(),
    last_attempt_at: timestamp().nullable(),
    delivered_at: timestamp().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const EventSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    occurred_at: timestamp(),
    resource: z.string(),
    actor: z.object({ type: z.string(), id: z.string() }),
    position: z.string(),
    data: z.unknown().meta({ description: "The event's public payload" }),
  })
  .meta({ id: 'Event' });

export const EventTypeSchema = z
  .object({
    type: z.string(),
    context: z.string(),
    family: z.string(),
    audited: z.boolean(),
    action: z.string().nullable(),
    description: z.string(),
  })
  .meta({ id: 'EventType' });
