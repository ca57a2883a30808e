import { z } from 'zod';
import { timestamp, uuid } from '../platform/http/api-schema';

export const TenantStateSchema = z
  .looseObject({
    tenant_id: uuid(),
    as_of: timestamp(),
    events_applied: z.number().int(),
  })
  .meta({
    id: 'TenantState',
    description:
      'tenant_id, as_of, events_applied, then one array per resource family (instances, volumes...) as it was at as_of',
  });

export const TimelinePublicKeySchema = z
  .object({
    key_id: z.string(),
    algorithm: z.literal('Ed25519'),
    public_key_pem: z.string(),
    jwk: z
      .looseObject({ kty: z.string().optional() })
      .meta({ description: 'The key as a JWK (OKP, Ed25519)' }),
  })
  .meta({ id: 'TimelinePublicKey' });

export const TimelineVerdictSchema = z
  .union([
    z.object({
      ok: z.literal(true),
      count: z.number().int(),
      tenant_id: z.string(),
      final_hash: z.string(),
      key_id: z.string(),
      signed_at: z.string(),
      first_position: z.string().nullable(),
      last_position: z.string().nullable(),
    }),
    z.object({
      ok: z.literal(false),
      line: z.number().int().meta({ description: '1-based line where verification failed' }),
      reason: z.string(),
      message: z.string(),
    }),
  ])
  .meta({ id: 'TimelineVerdict' });
