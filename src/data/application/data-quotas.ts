import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';

export const CACHE_QUOTA = 'caches';
export const CACHE_MEMORY_QUOTA = 'cache_memory_mb';
export const DATABASE_QUOTA = 'databases';
export const DATABASE_STORAGE_QUOTA = 'database_storage_gb';
export const DATABASE_REPLICA_QUOTA = 'database_replicas';

/** The data context's quotas (every tenant's default limits; operators override them per tenant). */
export const DATA_QUOTAS: readonly QuotaDefinition[] = [
  defineQuota({ name: CACHE_QUOTA, defaultLimit: 5, description: 'Caches not deleted' }),
  defineQuota({
    name: CACHE_MEMORY_QUOTA,
    defaultLimit: 4096,
    description: 'Memory of the caches not deleted, in MiB',
  }),
  defineQuota({ name: DATABASE_QUOTA, defaultLimit: 5, description: 'Databases not deleted' }),
  defineQuota({
    name: DATABASE_REPLICA_QUOTA,
    defaultLimit: 3,
    description: 'Read replicas not deleted nor promoted (each also counts as a database)',
  }),
  defineQuota({
    name: DATABASE_STORAGE_QUOTA,
    defaultLimit: 100,
    description: 'Allocated storage of the databases not deleted, in GB',
  }),
];
