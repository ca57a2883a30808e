export { AUDIT_PROJECTION, auditProjection } from './audit.projection';
