import { auditProjection } from './audit';
import { billingProjection } from './billing';
import { COMPUTE_PROJECTIONS } from './compute';
import { IDENTITY_PROJECTIONS } from './identity';
import { eventFeedProjection, webhooksProjection } from './webhooks';
import type { Projection } from './runtime/projection';

/**
 * Every read model of the application. The platform module builds its TypeORM DataSource from
 * `READ_MODEL_ENTITIES`; the projections module starts one runner per entry of `ALL_PROJECTIONS`.
 * A bounded context adds its projection folder's entities and definition here.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const READ_MODEL_ENTITIES: Function[] = [];

export const ALL_PROJECTIONS: readonly Projection[] = [
  ...IDENTITY_PROJECTIONS,
  billingProjection,
  auditProjection,
  ...COMPUTE_PROJECTIONS,
  eventFeedProjection,
  webhooksProjection,
];
