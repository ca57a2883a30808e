import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DataSource, EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../../src/eventstore/event-store';
import type { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { encodePosition } from '../../../src/kernel/position';
import { defineProjection, type Projection } from '../../../projections/runtime/projection';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import {
  appendTicks,
  expectedTicks,
  newRuntime,
  openDataSource,
  openStore,
  readCheckpointRow,
  waitUntilReadable,
} from './fixtures';

/** One row per Ticked event in its own table; a duplicate application breaks the primary key. */
function rowsProjection(table: string, failOn: { streamPrefix: string | null }): Projection {
  return defineProjection({
    name: `test.${table}`,
    version: 1,
    eventTypes: ['Ticked'],
    async setup(manager: EntityManager) {
      await manager.query(`CREATE TABLE IF NOT EXISTS ${table} (event_id uuid PRIMARY KEY)`);
    },
    async reset(manager: EntityManager) {
      await manager.query(`TRUNCATE ${table}`);
    },
    async apply(events: readonly RecordedEvent[], manager: EntityManager) {
      const prefix = failOn.streamPrefix;
      if (prefix !== null && events.some((e) => e.streamId.startsWith(prefix))) {
        throw new Error(`injected failure in ${table}`);
      }
      await manager.query(`INSERT INTO ${table} SELECT * FROM unnest($1::uuid[])`, [
        events.map((e) => e.id),
      ]);
    },
  });
}

async function eventIdsIn(dataSource: DataSource, table: string): Promise<string[]> {
  const rows: Array<{ event_id: string }> = await dataSource.query(
    `SELECT event_id FROM ${table} ORDER BY event_id`,
  );
  return rows.map((r) => r.event_id);
}

describe('runners of one process committing their batches together', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dataSource: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase('proj_group');
    store = await openStore(db.url);
    dataSource = await openDataSource(db.url);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await store?.close();
    await db?.drop();
  });

  it('keep going while one projection fails, which then catches up exactly once', async () => {
    const failing = { streamPrefix: null as string | null };
    const { runtime, waiter } = newRuntime(store, dataSource, [
      rowsProjection('group_a', { streamPrefix: null }),
      rowsProjection('group_b', failing),
    ]);
    try {
      await runtime.start();
      const first = await appendTicks(store, 20, { perAppend: 4 });
      expect(await waiter.waitFor(first, ['test.group_a', 'test.group_b'], 45_000)).toBe(true);

      failing.streamPrefix = 'poisoned-';
      const poisoned = await appendTicks(store, 20, { perAppend: 4, prefix: 'poisoned' });
      await waitUntilReadable(store, poisoned);
      const ticks = await expectedTicks(store);
      expect(await waiter.waitFor(poisoned, ['test.group_a'], 45_000)).toBe(true);
      await vi.waitFor(
        async () => {
          expect(runtime.runner('test.group_b')?.state).toBe('error');
          expect((await readCheckpointRow(dataSource, 'test.group_b'))?.last_error).toMatch(
            /injected failure in group_b/,
          );
        },
        { timeout: 20_000, interval: 20 },
      );
      expect(await waiter.waitFor(poisoned, ['test.group_b'], 10)).toBe(false);

      failing.streamPrefix = null;
      expect(await waiter.waitFor(poisoned, ['test.group_b'], 45_000)).toBe(true);
      const all = [...ticks.eventIds].sort();
      expect(await eventIdsIn(dataSource, 'group_a')).toEqual(all);
      expect(await eventIdsIn(dataSource, 'group_b')).toEqual(all);
      for (const name of ['test.group_a', 'test.group_b']) {
        await vi.waitFor(
          async () =>
            expect(await readCheckpointRow(dataSource, name)).toMatchObject({
              position: encodePosition(poisoned),
              events_processed: String(ticks.total),
              last_error: null,
            }),
          { timeout: 20_000, interval: 20 },
        );
      }
    } finally {
      await runtime.stop();
    }
  });
});
