import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { UserEvent } from '../../src/identity/domain/user';
import { defineProjection } from '../runtime/projection';

export const USERS_PROJECTION = 'identity.users';

/**
 * identity_users: what the login lookup, the auth guard and the user listings need. Personal data
 * stays encrypted here (email_enc, name_enc under the user's data key); readers decrypt, and show
 * `[erased]` once the key is gone. UserErased also drops the ciphertexts and the lookup hash.
 */
export const usersProjection = defineProjection({
  name: USERS_PROJECTION,
  version: 1,
  eventTypes: [
    'UserRegistered',
    'LoginSucceeded',
    'LoginFailed',
    'AccountLocked',
    'PasswordReset',
    'SessionsRevoked',
    'DefaultTenantChanged',
    'UserErased',
  ],
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_users (
      id uuid PRIMARY KEY,
      email_lookup_hash text,
      email_enc text,
      name_enc text,
      default_tenant_id uuid,
      session_version integer NOT NULL DEFAULT 1,
      status text NOT NULL,
      consecutive_failures integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      registered_at timestamptz NOT NULL,
      revision bigint NOT NULL
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS identity_users_email_lookup ON identity_users (email_lookup_hash)',
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE identity_users');
  },
  async apply(events, manager) {
    for (const event of events) await applyUserEvent(event, manager);
  },
});

async function applyUserEvent(recorded: RecordedEvent, m: EntityManager): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as UserEvent;
  const rev = recorded.revision.toString();
  const update = (sql: string, params: unknown[]) =>
    m.query(`UPDATE identity_users SET ${sql}, revision = $2 WHERE id = $1`, [
      event.data.userId,
      rev,
      ...params,
    ]);
  switch (event.type) {
    case 'UserRegistered':
      await m.query(
        `INSERT INTO identity_users (id, email_lookup_hash, email_enc, name_enc, default_tenant_id,
           status, registered_at, revision)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7) ON CONFLICT (id) DO NOTHING`,
        [
          event.data.userId,
          event.data.emailLookupHash,
          event.data.email,
          event.data.name,
          event.data.defaultTenantId,
          event.data.registeredAt,
          rev,
        ],
      );
      return;
    case 'LoginSucceeded':
    case 'PasswordReset':
      await update('consecutive_failures = 0, locked_until = NULL', []);
      return;
    case 'LoginFailed':
      await update('consecutive_failures = $3', [event.data.consecutiveFailures]);
      return;
    case 'AccountLocked':
      await update('consecutive_failures = 0, locked_until = $3', [event.data.until]);
      return;
    case 'SessionsRevoked':
      await update('session_version = $3', [event.data.sessionVersion]);
      return;
    case 'DefaultTenantChanged':
      await update('default_tenant_id = $3', [event.data.tenantId]);
      return;
    case 'UserErased':
      await update(
        `status = 'erased', session_version = session_version + 1, email_lookup_hash = NULL,
         email_enc = NULL, name_enc = NULL, locked_until = NULL`,
        [],
      );
      return;
    case 'PasswordChanged':
    case 'PasswordHashUpgraded':
    case 'RefreshTokenFamilyRevoked':
    case 'RefreshTokenIssued':
    case 'RefreshTokenRotated':
    case 'ResetTokenIssued':
      return;
    default:
      return;
  }
}
