import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { ReportRequestedEvent } from '../../src/reports/domain/report';
import { defineProjection } from '../runtime/projection';

export const REPORTS_PROJECTION = 'reports.requests';

/**
 * The report queue and files (`reports`): every ReportRequested becomes a pending row, written in
 * the batch's transaction with the checkpoint, so an accepted request is never lost between its
 * event and its row. The worker (src/reports/reports.service.ts) builds pending rows and stores
 * the file in them. Files are a record of work done, not derivable from the log: `reset` keeps
 * them, and a rebuild inserts only the requests that have no row.
 */
export const reportsProjection = defineProjection({
  name: REPORTS_PROJECTION,
  version: 1,
  eventTypes: ['ReportRequested'],
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS reports (
      id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      type text NOT NULL,
      format text NOT NULL,
      period text NOT NULL,
      status text NOT NULL,
      filename text,
      content_type text,
      size_bytes integer,
      content bytea,
      error text,
      created_at timestamptz NOT NULL,
      started_at timestamptz,
      completed_at timestamptz
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS reports_tenant ON reports (tenant_id, created_at DESC, id DESC)',
    );
  },
  async reset() {},
  async apply(events: readonly RecordedEvent[], manager) {
    const requests = events
      .filter((e) => e.type === 'ReportRequested')
      .map((e) => e.data as ReportRequestedEvent['data']);
    if (requests.length === 0) return;
    await manager.query(
      `INSERT INTO reports (id, tenant_id, type, format, period, status, created_at)
       SELECT r.id, r.tenant_id, r.type, r.format, r.period, 'pending', r.created_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
           AS r(id, tenant_id, type, format, period, created_at)
       ON CONFLICT (id) DO NOTHING`,
      [
        requests.map((r) => r.reportId),
        requests.map((r) => r.tenantId),
        requests.map((r) => r.reportType),
        requests.map((r) => r.format),
        requests.map((r) => r.period),
        requests.map((r) => r.at),
      ],
    );
  },
});
