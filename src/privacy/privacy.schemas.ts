import { z } from 'zod';
import { timestamp, uuid } from '../platform/http/api-schema';

export const PersonalDataExportSchema = z
  .object({
    exported_at: timestamp(),
    profile: z.object({
      id: uuid(),
      email: z.string(),
      name: z.string(),
      status: z.string(),
      registered_at: timestamp(),
      default_tenant_id: uuid().nullable(),
    }),
    memberships: z.array(
      z.object({ tenant_id: uuid(), name: z.string(), slug: z.string(), role: z.string() }),
    ),
    api_keys: z.array(
      z.object({
        id: uuid(),
        tenant_id: uuid(),
        name: z.string(),
        prefix: z.string(),
        kind: z.string(),
        created_at: timestamp(),
        last_used: timestamp().nullable(),
        expires_at: timestamp().nullable(),
        revoked: z.boolean(),
      }),
    ),
    audit_entries: z.array(
      z.object({
        id: z.string(),
        timestamp: timestamp(),
        tenant_id: uuid().nullable(),
        action: z.string(),
        resource: z.string(),
        status: z.string(),
        ip_address: z.string().nullable(),
        request_id: z.string().nullable(),
        via: z.enum(['user', 'api_key']),
      }),
    ),
  })
  .meta({ id: 'PersonalDataExport' });

export const ErasureSchema = z
  .object({ user_id: uuid(), status: z.literal('erased') })
  .meta({ id: 'Erasure' });
