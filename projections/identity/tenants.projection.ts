import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { TenantEvent } from '../../src/identity/domain/tenant';
import { defineProjection } from '../runtime/projection';

export const TENANTS_PROJECTION = 'identity.tenants';

/** identity_tenants (one row per tenant) and identity_memberships (tenant, user, role). */
export const tenantsProjection = defineProjection({
  name: TENANTS_PROJECTION,
  version: 1,
  eventTypes: [
    'TenantCreated',
    'TenantMemberAdded',
    'TenantMemberRoleChanged',
    'TenantMemberRemoved',
  ],
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_tenants (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      slug text NOT NULL,
      owner_id uuid NOT NULL,
      created_at timestamptz NOT NULL,
      revision bigint NOT NULL
    )`);
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_memberships (
      tenant_id uuid NOT NULL,
      user_id uuid NOT NULL,
      role text NOT NULL,
      added_at timestamptz NOT NULL,
      revision bigint NOT NULL,
      PRIMARY KEY (tenant_id, user_id)
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS identity_memberships_user ON identity_memberships (user_id)',
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE identity_tenants, identity_memberships');
  },
  async apply(events, manager) {
    for (const event of events) await applyTenantEvent(event, manager);
  },
});

async function applyTenantEvent(recorded: RecordedEvent, m: EntityManager): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as TenantEvent;
  const rev = recorded.revision.toString();
  const tenantId = event.data.tenantId;
  switch (event.type) {
    case 'TenantCreated':
      await m.query(
        `INSERT INTO identity_tenants (id, tenant_id, name, slug, owner_id, created_at, revision)
         VALUES ($1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [tenantId, event.data.name, event.data.slug, event.data.ownerId, event.data.createdAt, rev],
      );
      return;
    case 'TenantMemberAdded':
      await m.query(
        `INSERT INTO identity_memberships (tenant_id, user_id, role, added_at, revision)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role, revision = EXCLUDED.revision`,
        [tenantId, event.data.userId, event.data.role, event.data.at, rev],
      );
      break;
    case 'TenantMemberRoleChanged':
      await m.query(
        'UPDATE identity_memberships SET role = $3, revision = $4 WHERE tenant_id = $1 AND user_id = $2',
        [tenantId, event.data.userId, event.data.to, rev],
      );
      break;
    case 'TenantMemberRemoved':
      await m.query('DELETE FROM identity_memberships WHERE tenant_id = $1 AND user_id = $2', [
        tenantId,
        event.data.userId,
      ]);
      break;
    default:
      return;
  }
  await m.query('UPDATE identity_tenants SET revision = $2 WHERE id = $1', [tenantId, rev]);
}
