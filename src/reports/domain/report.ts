/**
 * A report request (stream `report-<id>`): ReportRequested records who asked for which report;
 * the file itself is produced in the background and kept in the `reports` table.
 */
import type { Decider } from '../../kernel/decider';

export const REPORT_TYPES = ['billing', 'audit', 'timeline'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export const REPORT_FORMATS = ['json', 'csv', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RequestReport {
  type: 'RequestReport';
  reportId: string;
  tenantId: string;
  reportType: ReportType;
  format: ReportFormat;
  period: string;
  now: Date;
}

export interface ReportRequestedEvent {
  type: 'ReportRequested';
  data: {
    reportId: string;
    tenantId: string;
    reportType: ReportType;
    format: ReportFormat;
    period: string;
    at: string;
  };
}

export interface ReportState {
  requested: boolean;
}

export const reportDecider: Decider<RequestReport, ReportRequestedEvent, ReportState> = {
  category: 'report',
  initialState: () => ({ requested: false }),
  evolve: () => ({ requested: true }),
  decide: (c, state) =>
    state.requested
      ? []
      : [
          {
            type: 'ReportRequested',
            data: {
              reportId: c.reportId,
              tenantId: c.tenantId,
              reportType: c.reportType,
              format: c.format,
              period: c.period,
              at: c.now.toISOString(),
            },
          },
        ],
};
