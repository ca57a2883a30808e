import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';

export const CLUSTER_QUOTA = 'clusters';

/** Every tenant's default; operators override it per tenant. */
export const CLUSTER_QUOTAS: readonly QuotaDefinition[] = [
  defineQuota({
    name: CLUSTER_QUOTA,
    defaultLimit: 3,
    description: 'Kubernetes clusters not deleted (failed ones count until deleted)',
  }),
];
