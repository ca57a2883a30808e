export { BILLING_PROJECTION, billingProjection } from './billing.projection';
export * from './usage-facts';
