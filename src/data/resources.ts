/**
 * The data context's resource families: what the audit log, the timeline and billing know about
 * caches and databases. Each `events` table names every event type of its decider. Billing: a
 * flat price per hour while one runs, plus its size: a cache's memory (per GiB-hour while it
 * runs), a database's allocated storage (per GB-hour from its request to its deletion, stopped or
 * not, as a volume's).
 */
import { audited, resourceKind } from '../platform/resources/resource-kind';
import { cacheDecider, databaseDecider, snapshotDecider } from './domain';

const context = 'data';

export const CACHES = resourceKind(cacheDecider, {
  context,
  family: 'cache',
  readModel: 'data_caches',
  actions: {
    CACHE_CREATE: 'A cache was requested.',
    CACHE_RUNNING: 'A cache started answering.',
    CACHE_FAIL: 'A cache could not be provisioned.',
    CACHE_STOP: 'A cache was found stopped.',
    CACHE_FLUSH: 'A cache was flushed.',
    CACHE_DELETE: 'A cache deletion started.',
    CACHE_DELETED: 'A cache was deleted.',
    CACHE_ENGINE_RESTART: "A cache's exited container was started again.",
    CACHE_ENGINE_LOST: "A cache's container was found removed or could not be started.",
  },
  events: {
    CacheCreated: audited('CACHE_CREATE'),
    CacheRunning: audited('CACHE_RUNNING'),
    CacheFailed: audited('CACHE_FAIL', 'failure'),
    CacheStopped: audited('CACHE_STOP'),
    CacheFlushed: audited('CACHE_FLUSH'),
    CacheDeletionStarted: audited('CACHE_DELETE'),
    CacheDeleted: audited('CACHE_DELETED'),
    CacheEngineRestarted: audited('CACHE_ENGINE_RESTART'),
    CacheEngineLost: audited('CACHE_ENGINE_LOST', 'failure'),
  },
  billing: [
    {
      meter: 'cache-hours',
      resourceIdField: 'cacheId',
      events: {
        CacheCreated: 'open',
        CacheRunning: 'start',
        CacheStopped: 'stop',
        CacheFailed: 'stop',
        CacheEngineLost: 'stop',
        CacheDeletionStarted: 'stop',
      },
    },
    {
      meter: 'cache-memory-hours',
      resourceIdField: 'cacheId',
      usageKey: 'memory',
      events: {
        CacheCreated: 'open',
        CacheRunning: 'start',
        CacheStopped: 'stop',
        CacheFailed: 'stop',
        CacheEngineLost: 'stop',
        CacheDeletionStarted: 'stop',
      },
    },
  ],
});

export const DATABASES = resourceKind(databaseDecider, {
  context,
  family: 'database',
  readModel: 'data_databases',
  actions: {
    DATABASE_CREATE: 'A database was requested.',
    DATABASE_CREATE_REPLICA: 'A streaming replica of a database was requested.',
    DATABASE_PROMOTE: 'A replica was promoted to a standalone primary.',
    DATABASE_RUNNING: 'A database started accepting connections.',
    DATABASE_FAIL: 'A database could not be provisioned.',
    DATABASE_MODIFY: 'A database was modified.',
    DATABASE_STOP: 'A database was stopped.',
    DATABASE_START: 'A database was started.',
    DATABASE_ROTATE_CREDENTIALS: "A database's credentials were rotated.",
    DATABASE_DELETE: 'A database deletion started.',
    DATABASE_DELETE_ABORT:
      'A database deletion stopped: its final snapshot could not be taken, the database runs on.',
    DATABASE_DELETED: 'A database was deleted.',
    DATABASE_ENGINE_RESTART: "A database's exited container was started again.",
    DATABASE_ENGINE_LOST: "A database's container was found removed or could not be started.",
  },
  events: {
    DatabaseCreated: audited('DATABASE_CREATE'),
    DatabaseReplicaCreated: audited('DATABASE_CREATE_REPLICA'),
    DatabasePromoted: audited('DATABASE_PROMOTE'),
    DatabaseRunning: audited('DATABASE_RUNNING'),
    DatabaseFailed: audited('DATABASE_FAIL', 'failure'),
    DatabaseModified: audited('DATABASE_MODIFY'),
    DatabaseStopped: audited('DATABASE_STOP'),
    DatabaseStarted: audited('DATABASE_START'),
    DatabaseCredentialsRotated: audited('DATABASE_ROTATE_CREDENTIALS'),
    DatabaseDeletionStarted: audited('DATABASE_DELETE'),
    DatabaseDeletionAborted: audited('DATABASE_DELETE_ABORT', 'failure'),
    DatabaseDeleted: audited('DATABASE_DELETED'),
    DatabaseEngineRestarted: audited('DATABASE_ENGINE_RESTART'),
    DatabaseEngineLost: audited('DATABASE_ENGINE_LOST', 'failure'),
  },
  billing: [
    {
      meter: 'database-hours',
      resourceIdField: 'databaseId',
      events: {
        DatabaseCreated: 'open',
        DatabaseReplicaCreated: 'open',
        DatabaseRunning: 'start',
        DatabaseStarted: 'start',
        DatabaseStopped: 'stop',
        DatabaseFailed: 'stop',
        DatabaseEngineLost: 'stop',
        DatabaseDeletionStarted: 'stop',
        DatabaseDeletionAborted: 'start',
      },
    },
    {
      meter: 'database-storage-hours',
      resourceIdField: 'databaseId',
      usageKey: 'storage',
      events: {
        DatabaseCreated: 'open',
        DatabaseReplicaCreated: 'open',
        DatabaseModified: 'quantity',
        // A failed provisioning removed the volume; a lost engine keeps it until the delete.
        DatabaseFailed: 'stop',
        DatabaseDeletionStarted: 'stop',
        DatabaseDeletionAborted: 'start',
      },
    },
  ],
});

export const DATABASE_SNAPSHOTS = resourceKind(snapshotDecider, {
  context,
  family: 'database_snapshot',
  readModel: 'data_database_snapshots',
  actions: {
    DATABASE_SNAPSHOT_CREATE: 'A snapshot of a database was requested.',
    DATABASE_SNAPSHOT_AVAILABLE: 'A database snapshot was taken.',
    DATABASE_SNAPSHOT_FAIL: 'A database snapshot could not be taken.',
    DATABASE_SNAPSHOT_DELETE: 'A database snapshot was deleted.',
  },
  events: {
    DatabaseSnapshotStarted: audited('DATABASE_SNAPSHOT_CREATE'),
    DatabaseSnapshotAvailable: audited('DATABASE_SNAPSHOT_AVAILABLE'),
    DatabaseSnapshotFailed: audited('DATABASE_SNAPSHOT_FAIL', 'failure'),
    DatabaseSnapshotDeleted: audited('DATABASE_SNAPSHOT_DELETE'),
  },
});

export const DATA_RESOURCE_KINDS = [CACHES, DATABASES, DATABASE_SNAPSHOTS];
