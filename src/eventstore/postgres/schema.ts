/**
 * The PostgreSQL event store's schema. `transaction_id` records the writing transaction so that
 * readers of `$all` can order by (transaction_id, global_position) and stay below the snapshot
 * xmin; see PostgresEventStore.
 */
export const EVENT_STORE_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  event_id        uuid        NOT NULL,
  stream_id       text        NOT NULL,
  stream_revision bigint      NOT NULL,
  event_type      text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_event_id_key UNIQUE (event_id),
  CONSTRAINT events_stream_revision_key UNIQUE (stream_id, stream_revision)
);
CREATE INDEX IF NOT EXISTS events_global_order_idx ON events (transaction_id, global_position);
CREATE INDEX IF NOT EXISTS events_tenant_idx ON events ((metadata->>'tenantId'), transaction_id, global_position);
`;
