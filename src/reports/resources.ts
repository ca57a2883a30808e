/** Report requests as a resource family (the files themselves live in the `reports` table). */
import { audited, resourceKind } from '../platform/resources/resource-kind';
import { reportDecider } from './domain/report';

export const REPORTS = resourceKind(reportDecider, {
  context: 'reports',
  family: 'report',
  readModel: 'reports',
  actions: { REPORT_GENERATE: 'A report was requested.' },
  events: { ReportRequested: audited('REPORT_GENERATE') },
});

export const REPORT_RESOURCE_KINDS = [REPORTS];
