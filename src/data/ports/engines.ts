/**
 * The engines the data context drives (implemented in src/drivers/engines on Docker), bound by
 * DataModule; the sagas use them through these tokens' types.
 */
export type {
  CacheEndpointInfo,
  CacheEngineDriver as CacheEngine,
  CacheRuntime,
  CacheStats,
} from '../../drivers/engines/redis-engine';

export type {
  DatabaseAddress,
  DatabaseEngineDriver as DatabaseEngine,
  DatabaseRuntime,
  ReplicationLag,
} from '../../drivers/engines/postgres-engine';
export type { EngineImageSource } from '../../drivers/engines/engine-images';

export const CACHE_ENGINE = Symbol('CACHE_ENGINE');
export const DATABASE_ENGINE = Symbol('DATABASE_ENGINE');
/** The directory of database snapshot files (`<NIMBUS_DATA_DIR>/database-snapshots`). */
export const DATABASE_SNAPSHOT_DIR = Symbol('DATABASE_SNAPSHOT_DIR');
