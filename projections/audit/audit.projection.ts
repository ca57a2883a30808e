import type { EntityManager } from 'typeorm';
import {
  defaultActorLabel,
  toAuditRecord,
  type AuditActionCatalog,
  type AuditRecord,
} from '../../src/audit/domain/actions';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { ResourceCatalog } from '../../src/platform/resources/resource-catalog';
import { defineProjection, type Projection } from '../runtime/projection';

export const AUDIT_PROJECTION = 'audit.log';

/**
 * `audit_log`: one row per audited event, id = event id (a rebuild gives the same rows). The
 * actor is stored as type and id; the label (a user's email, an API key's name, `[erased]`) is
 * resolved when the log is read, so an erasure shows everywhere at once and a rebuild does not
 * depend on the identity read models' progress. `actor` keeps the pseudonymous default label.
 * Rows are only ever inserted: no route updates or deletes them.
 */
export function auditProjection(resources: ResourceCatalog): Projection {
  return defineProjection({
    ...auditLog,
    // The audit catalog the contexts' resource-kind descriptors declare.
    eventTypes: resources.auditedEventTypes(),
    apply: (events, manager) => insertAuditRows(events, manager, resources.audit),
  });
}

const auditLog: Omit<Projection, 'eventTypes' | 'apply'> = {
  name: AUDIT_PROJECTION,
  // 2: renames, tag changes, reboots, image uploads and imports and price changes are audited.
  version: 2,
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS audit_log (
      id uuid PRIMARY KEY,
      occurred_at timestamptz NOT NULL,
      tenant_id text,
      actor text NOT NULL,
      actor_type text NOT NULL,
      actor_id text NOT NULL,
      action text NOT NULL,
      resource text NOT NULL,
      status text NOT NULL,
      ip_address text,
      request_id text,
      event_type text NOT NULL
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS audit_log_tenant_time ON audit_log (tenant_id, occurred_at DESC, id DESC)',
    );
    await manager.query(
      'CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_type, actor_id)',
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE audit_log');
  },
};

async function insertAuditRows(
  events: readonly RecordedEvent[],
  manager: EntityManager,
  catalog: AuditActionCatalog,
): Promise<void> {
  const rows: AuditRecord[] = [];
  for (const event of events) {
    const record = toAuditRecord(event, catalog, { actorLabel: defaultActorLabel });
    if (record) rows.push(record);
  }
  if (rows.length === 0) return;
  await manager.query(
    `INSERT INTO audit_log (id, occurred_at, tenant_id, actor, actor_type, actor_id, action,
       resource, status, ip_address, request_id, event_type)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
       $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
     ON CONFLICT (id) DO NOTHING`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.timestamp),
      rows.map((r) => r.tenant_id),
      rows.map((r) => r.actor),
      rows.map((r) => r.actor_type),
      rows.map((r) => r.actor_id),
      rows.map((r) => r.action),
      rows.map((r) => r.resource),
      rows.map((r) => r.status),
      rows.map((r) => r.ip_address),
      rows.map((r) => r.request_id),
      rows.map((r) => r.event_type),
    ],
  );
}
