import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import {
  category,
  collect,
  event,
  eventStoreContract,
  metadata,
  stream,
} from './event-store.contract';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('contract_pg');
});
afterAll(async () => {
  await db?.drop();
});

eventStoreContract('postgres', () => ({
  create: async (upcasters) => {
    const store = new PostgresEventStore({
      connectionString: db.url,
      upcasters,
      pollIntervalMs: 200,
    });
    await store.init();
    return store;
  },
}));

describe('postgres event store: late commits and rollbacks', () => {
  let store: PostgresEventStore;
  let raw: Client;
  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 100 });
    await store.init();
    raw = new Client({ connectionString: db.url });
    await raw.connect();
  });
  afterAll(async () => {
    await raw?.end();
    await store?.close();
  });

  async function insertInOpenTransaction(streamId: string): Promise<string> {
    const id = randomUUID();
    await raw.query('BEGIN');
    await raw.query(
      `INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
       VALUES ($1, $2, 0, 'Slow', '{}'::jsonb, $3::jsonb)`,
      [id, streamId, JSON.stringify(metadata())],
    );
    return id;
  }

  it('never skips an event whose transaction commits after later events', async () => {
    const c = category('late');
    const start = await store.headPosition();
    const slowId = await insertInOpenTransaction(stream(c));
    const fast = event('Fast');
    await store.append(stream(c), [fast], 'no_stream');
    // While the slow transaction is open, a reader must not move past it.
    const early = await store.readAll({ after: start, maxCount: 100 });
    expect(early.filter((e) => e.streamId.startsWith(c))).toHaveLength(0);
    const tail = collect(store, c, 2, 10_000, start);
    await raw.query('COMMIT');
    const seen = await tail;
    expect(seen.map((e) => e.id).sort()).toEqual([slowId, fast.id].sort());
  });

  it('reads past an open transaction declared to append nothing, and only while declared', async () => {
    const c = category('declared');
    const start = await store.headPosition();
    await raw.query('BEGIN');
    const { rows } = await raw.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    const later = event('AfterOpen');
    await store.append(stream(c), [later], 'no_stream');
    const ours = async () =>
      (await store.readAll({ after: start, maxCount: 1000 })).filter((e) =>
        e.streamId.startsWith(c),
      );
    // Any open transaction older than the append holds it back ...
    expect(await ours()).toHaveLength(0);
    // ... unless it is declared to append nothing (a projection batch of this process). Other
    // test files' transactions on the same server hold the head back too, briefly: poll.
    const oursOnce = async () => {
      for (let i = 0; i < 100; i++) {
        const seen = await ours();
        if (seen.length > 0) return seen.map((e) => e.id);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [];
    };
    const release = store.declareNonAppending(rows[0].xid);
    expect(await oursOnce()).toEqual([later.id]);
    release();
    expect(await ours()).toHaveLength(0);
    await raw.query('COMMIT');
    expect(await oursOnce()).toEqual([later.id]);
  });

  it('does not stall readers after a transaction rolls back', async () => {
    const c = category('rollback');
    const start = await store.headPosition();
    await insertInOpenTransaction(stream(c));
    const after = event('AfterRollback');
    await store.append(stream(c), [after], 'no_stream');
    await raw.query('ROLLBACK');
    const seen = await collect(store, c, 1, 10_000, start);
    expect(seen.map((e) => e.id)).toEqual([after.id]);
    // Nothing else arrives: the rolled-back row is gone for good.
    const more = await collect(store, c, 2, 500, start);
    expect(more).toHaveLength(1);
  });
});
