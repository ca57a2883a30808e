export { CACHES_PROJECTION, cachesProjection } from './caches.projection';
export { DATABASES_PROJECTION, databasesProjection } from './databases.projection';
import { cachesProjection } from './caches.projection';
import { databasesProjection } from './databases.projection';

export const DATA_PROJECTIONS = [cachesProjection, databasesProjection];
