import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { type EventStore, type RecordedEvent } from '../../../src/eventstore/event-store';
import { comparePositions, type Position } from '../../../src/kernel/position';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { defineProjection, type Projection } from '../../../projections/runtime/projection';
import {
  ProjectionRuntime,
  type ProjectionRuntimeOptions,
} from '../../../projections/runtime/projection-runtime';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';

/** Knobs a test turns while a projection runs. */
export interface TestProjectionControl {
  /** Throw when applying the event for which this returns true. */
  failOn: ((event: RecordedEvent) => boolean) | null;
  /** Awaited before applying each event (a test holds a batch half-applied with it). */
  beforeEach: ((event: RecordedEvent) => Promise<void>) | null;
  /** Events applied by this definition object (to tell two runners apart). */
  applied: number;
}

export function newControl(): TestProjectionControl {
  return { failOn: null, beforeEach: null, applied: 0 };
}

/**
 * A projection for tests: a list of every `Ticked` event (no unique key on the event id, so a
 * duplicate application would show) and a per-stream counter. `bulk` applies the whole batch
 * with two multi-row statements; otherwise row by row, so that a failure mid-batch leaves
 * uncommitted rows behind for the rollback to remove.
 */
export function tickProjection(
  control: TestProjectionControl,
  options: { name?: string; version?: number; bulk?: boolean } = {},
): Projection {
  const name = options.name ?? 'test.ticks';
  return defineProjection({
    name,
    version: options.version ?? 1,
    eventTypes: ['Ticked'],
    async setup(manager: EntityManager) {
      await manager.query(`
        CREATE TABLE IF NOT EXISTS test_tick_list (
          seq       bigserial PRIMARY KEY,
          event_id  uuid   NOT NULL,
          stream_id text   NOT NULL,
          tenant_id text,
          n         integer NOT NULL
        );
        CREATE TABLE IF NOT EXISTS test_tick_counts (
          stream_id text PRIMARY KEY,
          tenant_id text,
          count     integer NOT NULL
        );`);
    },
    async reset(manager: EntityManager) {
      await manager.query('TRUNCATE test_tick_list, test_tick_counts RESTART IDENTITY');
    },
    async apply(events: readonly RecordedEvent[], manager: EntityManager) {
      if (options.bulk) {
        await manager.query(
          `INSERT INTO test_tick_list (event_id, stream_id, tenant_id, n)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[])`,
          [
            events.map((e) => e.id),
            events.map((e) => e.streamId),
            events.map((e) => e.metadata.tenantId),
            events.map((e) => (e.data as { n: number }).n),
          ],
        );
      } else {
        for (const event of events) {
          await control.beforeEach?.(event);
          if (control.failOn?.(event)) throw new Error(`injected failure at ${event.id}`);
          await manager.query(
            'INSERT INTO test_tick_list (event_id, stream_id, tenant_id, n) VALUES ($1, $2, $3, $4)',
            [event.id, event.streamId, event.metadata.tenantId, (event.data as { n: number }).n],
          );
        }
      }
      const perStream = new Map<string, { tenant: string | null; count: number }>();
      for (const e of events) {
        const entry = perStream.get(e.streamId) ?? { tenant: e.metadata.tenantId, count: 0 };
        entry.count++;
        perStream.set(e.streamId, entry);
      }
      await manager.query(
        `INSERT INTO test_tick_counts (stream_id, tenant_id, count)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
         ON CONFLICT (stream_id) DO UPDATE SET count = test_tick_counts.count + EXCLUDED.count`,
        [
          [...perStream.keys()],
          [...perStream.values()].map((v) => v.tenant),
          [...perStream.values()].map((v) => v.count),
        ],
      );
      control.applied += events.length;
    },
  });
}

/** Appends `count` Ticked events spread over `streams` streams (plus one unrelated event). */
export async function appendTicks(
  store: EventStore,
  count: number,
  options: { streams?: number; perAppend?: number; prefix?: string } = {},
): Promise<Position> {
  const streams = options.streams ?? 5;
  const perAppend = options.perAppend ?? 1;
  const prefix = options.prefix ?? 'tick';
  let n = 0;
  while (n < count) {
    const size = Math.min(perAppend, count - n);
    const stream = `${prefix}-${n % streams}`;
    const events = Array.from({ length: size }, (_, i) => ({
      id: randomUUID(),
      type: 'Ticked',
      data: { n: n + i },
      metadata: {
        tenantId: `tenant-${(n + i) % 2}`,
        actor: { type: 'system' as const, id: 'test' },
        correlationId: randomUUID(),
        causationId: null,
        requestId: null,
        sourceIp: null,
        occurredAt: new Date(0).toISOString(),
        schemaVersion: 1,
      },
    }));
    await store.append(stream, events, 'any');
    n += size;
  }
  // An event the projection ignores: the checkpoint must still move past it.
  const other = await store.append(
    `other-${randomUUID()}`,
    [
      {
        id: randomUUID(),
        type: 'SomethingElse',
        data: {},
        metadata: {
          tenantId: null,
          actor: { type: 'system', id: 'test' },
          correlationId: randomUUID(),
          causationId: null,
          requestId: null,
          sourceIp: null,
          occurredAt: new Date(0).toISOString(),
          schemaVersion: 1,
        },
      },
    ],
    'no_stream',
  );
  return other.position;
}

/**
 * Waits until `position` is readable. The readable head trails while any transaction on the
 * server is open, so tests that count on exact batch boundaries wait for it first.
 */
export async function waitUntilReadable(store: EventStore, position: Position): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const head = await store.headPosition();
    if (head && comparePositions(head, position) >= 0) return;
    if (Date.now() > deadline) throw new Error('the appended events never became readable');
    await store.waitForAppends(50, undefined, head);
  }
}

export async function openStore(url: string): Promise<PostgresEventStore> {
  const store = new PostgresEventStore({ connectionString: url, pollIntervalMs: 200 });
  await store.init();
  return store;
}

export async function openDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url, entities: [], poolSize: 5 });
  await dataSource.initialize();
  return dataSource;
}

export function newRuntime(
  store: EventStore,
  dataSource: DataSource,
  projections: Projection[],
  options: ProjectionRuntimeOptions = {},
): { runtime: ProjectionRuntime; waiter: ProjectionWaiter } {
  const runtime = new ProjectionRuntime(store, dataSource, projections, {
    ...options,
    runner: {
      batchSize: 50,
      lockRetryMs: 50,
      initialDelayMs: 20,
      maxDelayMs: 200,
      ...options.runner,
    },
  });
  const waiter = new ProjectionWaiter(runtime, dataSource, { pollIntervalMs: 50 });
  return { runtime, waiter };
}

export interface TickRows {
  list: { seq: string; event_id: string; stream_id: string; tenant_id: string | null; n: number }[];
  counts: { stream_id: string; tenant_id: string | null; count: number }[];
}

export async function readTicks(dataSource: DataSource): Promise<TickRows> {
  const list: TickRows['list'] = await dataSource.query(
    'SELECT seq::text AS seq, event_id, stream_id, tenant_id, n FROM test_tick_list ORDER BY test_tick_list.seq',
  );
  const counts: TickRows['counts'] = await dataSource.query(
    'SELECT stream_id, tenant_id, count FROM test_tick_counts ORDER BY stream_id',
  );
  return { list, counts };
}

/** What the read model must hold: every Ticked event once, in log order, and per-stream counts. */
export async function expectedTicks(store: EventStore): Promise<{
  eventIds: string[];
  counts: Map<string, number>;
  total: number;
}> {
  const eventIds: string[] = [];
  const counts = new Map<string, number>();
  let after: Position | null = null;
  let total = 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 1000 });
    if (batch.length === 0) break;
    for (const e of batch) {
      total++;
      if (e.type !== 'Ticked') continue;
      eventIds.push(e.id);
      counts.set(e.streamId, (counts.get(e.streamId) ?? 0) + 1);
    }
    after = batch[batch.length - 1].position;
  }
  return { eventIds, counts, total };
}

export async function readCheckpointRow(
  dataSource: DataSource,
  name: string,
): Promise<
  | {
      version: number;
      position: string | null;
      events_processed: string;
      last_error: string | null;
    }
  | undefined
> {
  const rows = await dataSource.query(
    `SELECT version, CASE WHEN position_commit IS NULL THEN NULL
              ELSE position_commit::text || '-' || position_prepare::text END AS position,
            events_processed::text AS events_processed, last_error
       FROM projection_checkpoints WHERE name = $1`,
    [name],
  );
  return rows[0];
}

/** Terminates the sessions that hold projection runner locks in this database. */
export async function dropRunnerConnections(dataSource: DataSource): Promise<number> {
  const rows = await dataSource.query(
    `SELECT pg_terminate_backend(pid) AS killed FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND pid <> pg_backend_pid()`,
  );
  return rows.length;
}
