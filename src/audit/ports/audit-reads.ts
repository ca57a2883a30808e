import type { AuditRowJson, AuditStatus } from '../domain/actions';

export interface AuditFilter {
  tenantId?: string;
  /** Actor ids (a user id, an API key id, `system`...). */
  actorIds?: string[];
  action?: string;
  /** Exact resource, or a prefix when it ends with `/` or `*`. */
  resource?: string;
  status?: AuditStatus;
  from?: Date;
  to?: Date;
}

/** Newest first: (timestamp, id) descending. */
export type AuditSortKey = [string, string];

export interface AuditRowWithKey {
  row: AuditRowJson;
  key: AuditSortKey;
}

/**
 * What audit offers other contexts to read (reports' audit files): one page of the audit log,
 * newest first, after a sort key. Bound to AuditQueries by AuditModule, which exports the token.
 */
export interface AuditReads {
  list(filter: AuditFilter, after: AuditSortKey | null, limit: number): Promise<AuditRowWithKey[]>;
}

export const AUDIT_READS = Symbol('AUDIT_READS');
