/** The caches read model (`data_caches`), folded with the domain's own `evolve`. */
import {
  CACHE_CATEGORY,
  evolveCache,
  initialCacheState,
  type CacheEvent,
  type CacheState,
} from '../../src/data/domain';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const CACHES_PROJECTION = 'data.caches';

export const CACHE_EVENT_TYPES: readonly CacheEvent['type'][] = [
  'CacheCreated',
  'CacheRunning',
  'CacheFailed',
  'CacheStopped',
  'CacheFlushed',
  'CacheDeletionStarted',
  'CacheDeleted',
  'CacheEngineRestarted',
  'CacheEngineLost',
];

export const cachesProjection = defineProjection({
  name: CACHES_PROJECTION,
  version: 1,
  eventTypes: CACHE_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS data_caches (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS data_caches_tenant ON data_caches (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE data_caches');
  },
  async apply(events, manager) {
    await foldInto<CacheState>(
      events,
      manager,
      'data_caches',
      (e) => idInStream(CACHE_CATEGORY, e.streamId),
      initialCacheState,
      (s, e) => evolveCache(s, { type: e.type, data: e.data } as CacheEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null || s.name === null) return;
        await m.query(
          `INSERT INTO data_caches (id, tenant_id, name, status, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [id, s.tenantId, s.name, s.status, JSON.stringify(s), revision, createdAt, updatedAt],
        );
      },
    );
  },
});
