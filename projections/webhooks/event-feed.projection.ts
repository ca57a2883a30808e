import { defineProjection } from '../runtime/projection';
import { resourceOfStream } from '../../src/webhooks/domain/payload';

export const EVENT_FEED_PROJECTION = 'events.feed';

/**
 * `event_feed`: every event that belongs to a tenant, indexed for `GET /events` (filters by type,
 * resource and time, newest first by log position). The data is kept as stored; the route shows
 * it through `publicEventData` (secrets out, encrypted personal data as `[erased]`).
 */
export const eventFeedProjection = defineProjection({
  name: EVENT_FEED_PROJECTION,
  version: 1,
  async setup(manager) {
    await manager.query(`CREATE TABLE IF NOT EXISTS event_feed (
      event_id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      pos_commit numeric NOT NULL,
      pos_prepare numeric NOT NULL,
      event_type text NOT NULL,
      stream_id text NOT NULL,
      resource text NOT NULL,
      occurred_at timestamptz NOT NULL,
      actor_type text NOT NULL,
      actor_id text NOT NULL,
      data jsonb NOT NULL
    )`);
    await manager.query(
      'CREATE INDEX IF NOT EXISTS event_feed_tenant ON event_feed (tenant_id, pos_commit DESC, pos_prepare DESC)',
    );
  },
  async reset(manager) {
    await manager.query('TRUNCATE event_feed');
  },
  async apply(events, manager) {
    const mine = events.filter((e) => e.metadata.tenantId);
    if (mine.length === 0) return;
    await manager.query(
      `INSERT INTO event_feed (event_id, tenant_id, pos_commit, pos_prepare, event_type, stream_id,
         resource, occurred_at, actor_type, actor_id, data)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[], $5::text[],
         $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::jsonb[])
       ON CONFLICT (event_id) DO NOTHING`,
      [
        mine.map((e) => e.id),
        mine.map((e) => e.metadata.tenantId),
        mine.map((e) => e.position.commit.toString()),
        mine.map((e) => e.position.prepare.toString()),
        mine.map((e) => e.type),
        mine.map((e) => e.streamId),
        mine.map((e) => resourceOfStream(e.streamId)),
        mine.map((e) => e.metadata.occurredAt),
        mine.map((e) => e.metadata.actor.type),
        mine.map((e) => e.metadata.actor.id),
        mine.map((e) => JSON.stringify(e.data)),
      ],
    );
  },
});
