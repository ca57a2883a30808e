/**
 * The data context's resource families: what the audit log, the timeline and billing know about
 * caches and databases. Each `events` table names every event type of its decider. Both are
 * billed per hour while they run, one flat price per engine (not yet by size).
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
  billing: {
    meter: 'cache-hours',
    resourceIdField: 'cacheId',
    events: {
      CacheCreated: 'open',
      CacheRunning: 'start',
      CacheStopped: 'stop',
      CacheFailed: 'stop',
      CacheDeletionStarted: 'stop',
    },
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
  billing: {
    meter: 'database-hours',
    resourceIdField: 'databaseId',
    events: {
      DatabaseCreated: 'open',
      DatabaseRunning: 'start',
      DatabaseStarted: 'start',
      DatabaseStopped: 'stop',
      DatabaseFailed: 'stop',
      DatabaseDeletionStarted: 'stop',
    },
  },
});

export const DATA_RESOURCE_KINDS = [CACHES, DATABASES];
