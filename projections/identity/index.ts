import { apiKeysProjection } from './api-keys.projection';
import { policiesProjection } from './policies.projection';
import { tenantsProjection } from './tenants.projection';
import { usersProjection } from './users.projection';

export { API_KEYS_PROJECTION } from './api-keys.projection';
export { POLICIES_PROJECTION } from './policies.projection';
export { TENANTS_PROJECTION } from './tenants.projection';
export { USERS_PROJECTION } from './users.projection';

/** The identity context's read models (tables identity_*), queried with plain SQL. */
export const IDENTITY_PROJECTIONS = [
  usersProjection,
  tenantsProjection,
  apiKeysProjection,
  policiesProjection,
] as const;
