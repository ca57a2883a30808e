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
    // Creations are most of the traffic and touch no existing row: each run of consecutive
    // PolicyCreated events is one multi-row INSERT. The rarer changes keep their order, one by one.
    let created: RecordedEvent[] = [];
    for (const event of events) {
      if (event.type === 'PolicyCreated') {
        created.push(event);
        continue;
      }
      await insertCreatedPolicies(created, manager);
      created = [];
      await applyPolicyEvent(event, manager);
    }
    await insertCreatedPolicies(created, manager);
  },
});

async function insertCreatedPolicies(
  events: readonly RecordedEvent[],
  m: EntityManager,
): Promise<void> {
  if (events.length === 0) return;
  const created = events.map((e) => ({
    data: e.data as Extract<PolicyEvent, { type: 'PolicyCreated' }>['data'],
    revision: e.revision.toString(),
  }));
  await m.query(
    `INSERT INTO identity_policies (id, tenant_id, name, description, statements, created_at, revision)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[],
       $6::timestamptz[], $7::bigint[])
     ON CONFLICT (id) DO NOTHING`,
    [
      created.map((c) => c.data.policyId),
      created.map((c) => c.data.tenantId),
      created.map((c) => c.data.name),
      created.map((c) => c.data.description),
      created.map((c) => JSON.stringify(c.data.statements)),
      created.map((c) => c.data.createdAt),
      created.map((c) => c.revision),
    ],
  );
}

async function applyPolicyEvent(recorded: RecordedEvent, m: EntityManager): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as PolicyEvent;
  const rev = recorded.revision.toString();
  switch (event.type) {
    case 'PolicyCreated':
      await insertCreatedPolicies([recorded], m);
      return;
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
