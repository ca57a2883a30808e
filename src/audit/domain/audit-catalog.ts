import { defaultAuditCatalog, type AuditActionCatalog } from './actions';

/** The catalog the audit projection and GET /audit/actions share. */
export const AUDIT_CATALOG: AuditActionCatalog = defaultAuditCatalog();

/** Every event type the catalog audits (the projection skips the others without a call). */
export const AUDITED_EVENT_TYPES: readonly string[] = AUDIT_CATALOG.describe()
  .flatMap((a) => a.event_types.map((t) => t.type))
  .sort();
