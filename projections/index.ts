import { auditProjection } from './audit';
import { billingProjection } from './billing';
import { CLUSTER_PROJECTIONS } from './clusters';
import { COMPUTE_PROJECTIONS } from './compute';
import { EDGE_PROJECTIONS } from './network/edge.projections';
import { IDENTITY_PROJECTIONS } from './identity';
import { STORAGE_PROJECTIONS } from './storage';
import { NETWORK_PROJECTIONS } from './network';
import { reportsProjection } from './reports';
import { SECRETS_PROJECTIONS } from './secrets';
import { DATA_PROJECTIONS } from './data';
import { eventFeedProjection, webhooksProjection } from './webhooks';
import type { ResourceCatalog } from '../src/platform/resources/resource-catalog';
import type { Projection } from './runtime/projection';

/**
 * Every read model of the application: the app module hands this list to
 * `ProjectionsModule.forRoot`, which starts one runner per entry. Read models are plain SQL tables
 * written through the runner's EntityManager (no TypeORM entities). A bounded context adds its
 * projection folder's definitions here. The audit log and the billing meter classify events as
 * the contexts' resource-kind descriptors declare (`resources`, src/resource-kinds.ts).
 */
export function allProjections(resources: ResourceCatalog): readonly Projection[] {
  return [
    ...IDENTITY_PROJECTIONS,
    billingProjection(resources),
    auditProjection(resources),
    ...COMPUTE_PROJECTIONS,
    ...EDGE_PROJECTIONS,
    ...STORAGE_PROJECTIONS,
    ...NETWORK_PROJECTIONS,
    ...SECRETS_PROJECTIONS,
    ...DATA_PROJECTIONS,
    ...CLUSTER_PROJECTIONS,
    eventFeedProjection,
    webhooksProjection,
    reportsProjection,
  ];
}
