import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';

export const BUCKET_QUOTA = 'buckets';

/** Object storage's quotas (every tenant's default; operators override them per tenant). */
export const STORAGE_QUOTAS: readonly QuotaDefinition[] = [
  defineQuota({
    name: BUCKET_QUOTA,
    defaultLimit: 100,
    description: 'buckets not deleted (the native API and the S3 endpoint alike)',
  }),
];
