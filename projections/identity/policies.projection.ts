import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { PolicyEvent } from '../../src/identity/domain/policy';
import { defineProjection } from '../runtime/projection';

export const POLICIES_PROJECTION = 'identity.policies';

/** identity_policies and identity_policy_attachments (what the guard evaluates per request). */
export const policiesProjection = defineProjection({
  name: POLICIES_PROJECTION,
  version: 1,
  eventTypes: ['PolicyCreated', 'PolicyDeleted', 'PolicyAttachedToUser', 'PolicyDetachedFromUser'],
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_policies (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      description text,
      statements jsonb NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL,
      revision bigint NOT NULL
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS identity_policies_tenant ON identity_policies (tenant_id, name)',
    );
    await manager.query(`CREATE TABLE IF NOT EXISTS identity_policy_attachments (
      policy_id uuid NOT NULL,
      user_id uuid NOT NULL,
      tenant_id uuid NOT NULL,
      attached_at timestamptz NOT NULL,
      PRIMARY KEY (policy_id, user_id)
    )`);
    await manager.query(
      `CREATE INDEX IF NOT EXISTS identity_policy_attachments_user
         ON identity_policy_attachments (user_id, tenant_id)`,
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE identity_policies, identity_policy_attachments');
  },
  async apply(events, manager) {
    for (const event of events) await applyPolicyEvent(event, manager);
  },
});

async function applyPolicyEvent(recorded: RecordedEvent, m: EntityManager): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as PolicyEvent;
  const rev = recorded.revision.toString();
  switch (event.type) {
    case 'PolicyCreated': {
      const d = event.data;
      await m.query(
        `INSERT INTO identity_policies (id, tenant_id, name, description, statements, created_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [
          d.policyId,
          d.tenantId,
          d.name,
          d.description,
          JSON.stringify(d.statements),
          d.createdAt,
          rev,
        ],
      );
      return;
    }
    case 'PolicyDeleted':
      await m.query('UPDATE identity_policies SET deleted = true, revision = $2 WHERE id = $1', [
        event.data.policyId,
        rev,
      ]);
      await m.query('DELETE FROM identity_policy_attachments WHERE policy_id = $1', [
        event.data.policyId,
      ]);
      return;
    case 'PolicyAttachedToUser':
      await m.query(
        `INSERT INTO identity_policy_attachments (policy_id, user_id, tenant_id, attached_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [event.data.policyId, event.data.userId, event.data.tenantId, event.data.at],
      );
      break;
    case 'PolicyDetachedFromUser':
      await m.query(
        'DELETE FROM identity_policy_attachments WHERE policy_id = $1 AND user_id = $2',
        [event.data.policyId, event.data.userId],
      );
      break;
    default:
      return;
  }
  await m.query('UPDATE identity_policies SET revision = $2 WHERE id = $1', [
    event.data.policyId,
    rev,
  ]);
}
