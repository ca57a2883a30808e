/**
 * The data context's resource families: what the audit log and the timeline know about caches
 * (and, as they land, databases). Each `events` table names every event type of its decider.
 */
import { audited, resourceKind } from '../platform/resources/resource-kind';
import { cacheDecider, databaseDecider } from './domain';

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
  },
  events: {
    CacheCreated: audited('CACHE_CREATE'),
    CacheRunning: audited('CACHE_RUNNING'),
    CacheFailed: audited('CACHE_FAIL', 'failure'),
    CacheStopped: audited('CACHE_STOP'),
    CacheFlushed: audited('CACHE_FLUSH'),
    CacheDeletionStarted: audited('CACHE_DELETE'),
    CacheDeleted: audited('CACHE_DELETED'),
  },
});

export const DATABASES = resourceKind(databaseDecider, {
  context,
  family: 'database',
  readModel: 'data_databases',
  actions: {
    DATABASE_CREATE: 'A database was requested.',
    DATABASE_RUNNING: 'A database started accepting connections.',
    DATABASE_FAIL: 'A database could not be provisioned.',
    DATABASE_MODIFY: 'A database was modified.',
    DATABASE_STOP: 'A database was stopped.',
    DATABASE_START: 'A database was started.',
    DATABASE_ROTATE_CREDENTIALS: "A database's credentials were rotated.",
    DATABASE_DELETE: 'A database deletion started.',
    DATABASE_DELETED: 'A database was deleted.',
  },
  events: {
    DatabaseCreated: audited('DATABASE_CREATE'),
    DatabaseRunning: audited('DATABASE_RUNNING'),
    DatabaseFailed: audited('DATABASE_FAIL', 'failure'),
    DatabaseModified: audited('DATABASE_MODIFY'),
    DatabaseStopped: audited('DATABASE_STOP'),
    DatabaseStarted: audited('DATABASE_START'),
    DatabaseCredentialsRotated: audited('DATABASE_ROTATE_CREDENTIALS'),
    DatabaseDeletionStarted: audited('DATABASE_DELETE'),
    DatabaseDeleted: audited('DATABASE_DELETED'),
  },
});

export const DATA_RESOURCE_KINDS = [CACHES, DATABASES];
