export { REPORTS_PROJECTION, reportsProjection } from './reports.projection';
