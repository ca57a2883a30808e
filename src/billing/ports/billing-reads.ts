import type { BilledUsage, BillingPeriod, BillingSummaryJson } from '../domain';

/**
 * What billing offers other contexts to read (reports' monthly statements): a tenant's summary
 * and every billed usage of a period. Bound to BillingQueries by BillingModule, which exports the
 * token.
 */
export interface BillingReads {
  summary(tenantId: string, period: BillingPeriod, now: number): Promise<BillingSummaryJson>;
  allUsage(tenantId: string, period: BillingPeriod, now: number): Promise<BilledUsage[]>;
}

export const BILLING_READS = Symbol('BILLING_READS');
