import { z } from 'zod';
import { timestamp } from '../platform/http/api-schema';

const AUDIT_STATUS = z.enum(['success', 'failure', 'denied']);

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    timestamp: timestamp(),
    actor: z.string().meta({ description: "The user's email, `api_key:<name>` or `system`" }),
    action: z.string().meta({ example: 'INSTANCE_LAUNCH' }),
    resource: z.string(),
    status: AUDIT_STATUS,
    ip_address: z.string().nullable(),
    request_id: z.string().nullable(),
  })
  .meta({
    id: 'AuditEntry',
    example: {
      id: '01JH8Z6Q2V3W4X5Y6Z7A8B9C0D',
      timestamp: '2026-01-31T12:00:00.000Z',
      actor: 'ada@example.com',
      action: 'INSTANCE_LAUNCH',
      resource: 'instance/3f1d7c2e-5a4b-4e8f-9c1d-2b7a6e5f4d3c',
      status: 'success',
      ip_address: '127.0.0.1',
      request_id: '6f1c2a8e-3b7d-4c1e-9a2f-5d8e7b6c4a3f',
    },
  });

export const AuditActionSchema = z
  .object({
    action: z.string(),
    description: z.string(),
    context: z.string(),
    resource_kind: z.string(),
    event_types: z.array(
      z.object({ type: z.string(), status: AUDIT_STATUS, confirmed: z.boolean() }),
    ),
  })
  .meta({ id: 'AuditAction' });
