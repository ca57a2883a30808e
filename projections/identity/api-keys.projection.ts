import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { ApiKeyEvent } from '../../src/identity/domain/api-key';
import { defineProjection } from '../runtime/projection';

export const API_KEYS_PROJECTION = 'identity.api_keys';

/**
 * identity_api_keys: the auth guard's lookup by prefix. `last_used` is written by the guard (at
 * most once a minute per key), not by events, so a rebuild forgets it.
 */
export const apiKeysProjection = defineProjection({
  name: API_KEYS_PROJECTION,
  version: 1,
  eventTypes: ['ApiKeyCreated', 'ApiKeyRotated', 'ApiKeyRevoked'],
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_api_keys (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      prefix text NOT NULL,
      key_hash text NOT NULL,
      kind text NOT NULL,
      expires_at timestamptz,
      session_version integer,
      revoked boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL,
      rotated_at timestamptz,
      revoked_at timestamptz,
      last_used timestamptz,
      revision bigint NOT NULL
    )`);
    await manager.query(
      'CREATE UNIQUE INDEX IF NOT EXISTS identity_api_keys_prefix ON identity_api_keys (prefix)',
    );
    await manager.query(
      'CREATE INDEX IF NOT EXISTS identity_api_keys_user ON identity_api_keys (user_id, tenant_id)',
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE identity_api_keys');
  },
  async apply(events, manager) {
    for (const event of events) await applyApiKeyEvent(event, manager);
  },
});

async function applyApiKeyEvent(recorded: RecordedEvent, m: EntityManager): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as ApiKeyEvent;
  const rev = recorded.revision.toString();
  switch (event.type) {
    case 'ApiKeyCreated': {
      const d = event.data;
      await m.query(
        `INSERT INTO identity_api_keys (id, user_id, tenant_id, name, prefix, key_hash, kind,
           expires_at, session_version, created_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
        [
          d.keyId,
          d.userId,
          d.tenantId,
          d.name,
          d.prefix,
          d.keyHash,
          d.kind,
          d.expiresAt,
          d.sessionVersion,
          d.createdAt,
          rev,
        ],
      );
      return;
    }
    case 'ApiKeyRotated':
      await m.query(
        `UPDATE identity_api_keys SET prefix = $2, key_hash = $3, rotated_at = $4, revision = $5
          WHERE id = $1`,
        [event.data.keyId, event.data.prefix, event.data.keyHash, event.data.at, rev],
      );
      return;
    case 'ApiKeyRevoked':
      await m.query(
        'UPDATE identity_api_keys SET revoked = true, revoked_at = $2, revision = $3 WHERE id = $1',
        [event.data.keyId, event.data.at, rev],
      );
      return;
    default:
      return;
  }
}
