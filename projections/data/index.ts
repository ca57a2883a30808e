export { CACHES_PROJECTION, cachesProjection } from './caches.projection';
export { DATABASES_PROJECTION, databasesProjection } from './databases.projection';
export {
  DATABASE_SNAPSHOTS_PROJECTION,
  databaseSnapshotsProjection,
} from './database-snapshots.projection';
import { cachesProjection } from './caches.projection';
import { databaseSnapshotsProjection } from './database-snapshots.projection';
import { databasesProjection } from './databases.projection';

export const DATA_PROJECTIONS = [
  cachesProjection,
  databasesProjection,
  databaseSnapshotsProjection,
];
