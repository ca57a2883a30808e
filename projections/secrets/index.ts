export { SECRETS_PROJECTION, SECRETS_PROJECTIONS, secretsProjection } from './secrets.projection';
