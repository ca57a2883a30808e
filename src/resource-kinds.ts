/**
 * The application's resource kinds: each bounded context contributes the descriptors it owns
 * (its `resources.ts`), and everything that classifies events across contexts (the audit catalog,
 * the timeline, point-in-time state, the billing meter, `GET /events/types`) reads them from the
 * catalog built here. A new context adds one line, never an event name.
 */
import { Global, Module } from '@nestjs/common';
import { SAGA_RESOURCE_KINDS } from '../sagas/runtime/resources';
import { BILLING_RESOURCE_KINDS } from './billing/pricing/resources';
import { CLUSTER_RESOURCE_KINDS } from './clusters/resources';
import { COMPUTE_RESOURCE_KINDS } from './compute/resources';
import { IDENTITY_RESOURCE_KINDS } from './identity/resources';
import { NETWORK_RESOURCE_KINDS } from './network/resources';
import { QUOTA_RESOURCE_KINDS } from './platform/quotas/resources';
import { RESOURCE_CATALOG, ResourceCatalog } from './platform/resources/resource-catalog';
import { REPORT_RESOURCE_KINDS } from './reports/resources';
import { SECRET_RESOURCE_KINDS } from './secrets/resources';
import { DATA_RESOURCE_KINDS } from './data/resources';
import { STORAGE_RESOURCE_KINDS } from './storage/resources';
import { WEBHOOK_RESOURCE_KINDS } from './webhooks/resources';

export const APP_RESOURCE_CATALOG = new ResourceCatalog([
  ...IDENTITY_RESOURCE_KINDS,
  ...COMPUTE_RESOURCE_KINDS,
  ...NETWORK_RESOURCE_KINDS,
  ...CLUSTER_RESOURCE_KINDS,
  ...STORAGE_RESOURCE_KINDS,
  ...BILLING_RESOURCE_KINDS,
  ...WEBHOOK_RESOURCE_KINDS,
  ...REPORT_RESOURCE_KINDS,
  ...SAGA_RESOURCE_KINDS,
  ...QUOTA_RESOURCE_KINDS,
  ...SECRET_RESOURCE_KINDS,
  ...DATA_RESOURCE_KINDS,
]);

/** Provides `RESOURCE_CATALOG` to every module. */
@Global()
@Module({
  providers: [{ provide: RESOURCE_CATALOG, useValue: APP_RESOURCE_CATALOG }],
  exports: [RESOURCE_CATALOG],
})
export class ResourceCatalogModule {}
