import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DataSource } from 'typeorm';
import { encodePosition } from '../../../src/kernel/position';
import type { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import type { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import {
  appendTicks,
  dropRunnerConnections,
  expectedTicks,
  newControl,
  newRuntime,
  openDataSource,
  openStore,
  readCheckpointRow,
  readTicks,
  tickProjection,
  waitUntilReadable,
} from './fixtures';

const NAME = 'test.ticks';

interface Env {
  db: TestDatabase;
  store: PostgresEventStore;
  dataSource: DataSource;
  runtimes: ProjectionRuntime[];
}

function setupEnv(label: string): Env {
  const env = { runtimes: [] } as unknown as Env;
  beforeAll(async () => {
    env.db = await createTestDatabase(label);
    env.store = await openStore(env.db.url);
    env.dataSource = await openDataSource(env.db.url);
  });
  afterEach(async () => {
    await Promise.all(env.runtimes.map((r) => r.stop()));
    env.runtimes = [];
  });
  afterAll(async () => {
    await env.dataSource?.destroy();
    await env.store?.close();
    await env.db?.drop();
  });
  return env;
}

/** The read model holds every event exactly once, in log order, with matching counters. */
async function expectExactlyOnce(env: Env): Promise<void> {
  const expected = await expectedTicks(env.store);
  const rows = await readTicks(env.dataSource);
  expect(rows.list.map((r) => r.event_id)).toEqual(expected.eventIds);
  expect(new Set(rows.list.map((r) => r.event_id)).size).toBe(rows.list.length);
  expect(new Map(rows.counts.map((c) => [c.stream_id, c.count]))).toEqual(expected.counts);
  // Batches holding only other events are checkpointed lazily (when the runner idles or stops).
  await vi.waitFor(
    async () => {
      const checkpoint = await readCheckpointRow(env.dataSource, NAME);
      expect(Number(checkpoint?.events_processed)).toBe(expected.total);
      expect(checkpoint?.last_error).toBeNull();
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe('projection runner: live', () => {
  const env = setupEnv('proj_live');

  it('projects events appended while it runs, advances its checkpoint, and waitFor resolves', async () => {
    const { runtime, waiter } = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl()),
    ]);
    env.runtimes.push(runtime);
    await runtime.start();
    let last = await appendTicks(env.store, 30, { perAppend: 3 });
    expect(await waiter.waitFor(last, [NAME], 45_000)).toBe(true);
    last = await appendTicks(env.store, 45, { prefix: 'more' });
    expect(await waiter.waitFor(last, [NAME], 45_000)).toBe(true);

    // The last batch holds only another stream's event: its checkpoint is written lazily.
    await vi.waitFor(
      async () =>
        expect((await readCheckpointRow(env.dataSource, NAME))?.position).toBe(
          encodePosition(last),
        ),
      { timeout: 10_000, interval: 50 },
    );
    await expectExactlyOnce(env);
    expect(runtime.runner(NAME)?.state).toBe('running');

    const [status] = await runtime.status();
    expect(status).toMatchObject({
      name: NAME,
      version: 1,
      storedVersion: 1,
      status: 'running',
      lag: { events: 0, exact: true },
      lastError: null,
    });
    expect(status.eventsProcessed).toBe(77);

    await runtime.stop();
    const late = await appendTicks(env.store, 4, { prefix: 'late' });
    // The readable head trails while any transaction on the server is still open.
    await vi.waitFor(
      async () =>
        expect(encodePosition((await env.store.headPosition())!)).toBe(encodePosition(late)),
      { timeout: 20_000, interval: 10 },
    );
    const [stopped] = await runtime.status();
    expect(stopped.status).toBe('stopped');
    expect(stopped.lag).toEqual({ events: 5, exact: true });
  });
});

describe('projection runner: failure in the middle of a batch', () => {
  const env = setupEnv('proj_crash');

  it('rolls the whole batch back, keeps the checkpoint, records the error, and retries to exactly once', async () => {
    const all = await appendTicks(env.store, 100, { perAppend: 10, streams: 4 });
    await waitUntilReadable(env.store, all);
    const ordered = await expectedTicks(env.store);
    const failAt = ordered.eventIds[69]; // batch 2 of 50 events, 20 events in
    const control = newControl();
    control.failOn = (e) => e.id === failAt;
    const errors: Error[] = [];
    const { runtime, waiter } = newRuntime(env.store, env.dataSource, [tickProjection(control)]);
    env.runtimes.push(runtime);
    await runtime.start();
    await vi.waitFor(
      async () => {
        const row = await readCheckpointRow(env.dataSource, NAME);
        expect(row?.last_error).toMatch(/injected failure/);
      },
      { timeout: 20_000, interval: 20 },
    );
    errors.push(...(runtime.runner(NAME)?.lastError ? [runtime.runner(NAME)!.lastError!] : []));
    expect(errors[0]?.message).toMatch(/injected failure/);

    // Only the first batch is visible, and the checkpoint sits at its last event.
    const rows = await readTicks(env.dataSource);
    expect(rows.list.map((r) => r.event_id)).toEqual(ordered.eventIds.slice(0, 50));
    expect(rows.counts.reduce((sum, c) => sum + c.count, 0)).toBe(50);
    const checkpoint = await readCheckpointRow(env.dataSource, NAME);
    expect(Number(checkpoint?.events_processed)).toBe(50);
    expect(await waiter.waitFor(all, [NAME], 50)).toBe(false);

    control.failOn = null;
    expect(await waiter.waitFor(all, [NAME], 45_000)).toBe(true);
    await expectExactlyOnce(env);
  });

  it('a new runner started after a failing one finishes the work exactly once', async () => {
    const ordered = await expectedTicks(env.store);
    const all = await appendTicks(env.store, 60, { perAppend: 7, prefix: 'second' });
    const control = newControl();
    control.failOn = (e) => (e.data as { n: number }).n === 33 && e.streamId.startsWith('second');
    const first = newRuntime(env.store, env.dataSource, [tickProjection(control)]);
    env.runtimes.push(first.runtime);
    await first.runtime.start();
    await vi.waitFor(() => expect(first.runtime.runner(NAME)?.state).toBe('error'), {
      timeout: 20_000,
      interval: 10,
    });
    await first.runtime.stop();
    const before = await readTicks(env.dataSource);
    expect(before.list.length).toBeGreaterThanOrEqual(ordered.eventIds.length);
    expect(before.list.length).toBeLessThan(ordered.eventIds.length + 60);

    const second = newRuntime(env.store, env.dataSource, [tickProjection(newControl())]);
    env.runtimes.push(second.runtime);
    await second.runtime.start();
    expect(await second.waiter.waitFor(all, [NAME], 45_000)).toBe(true);
    await expectExactlyOnce(env);
  });
});

describe('projection runner: killed mid-batch', () => {
  const env = setupEnv('proj_kill');

  /** Holds the runner inside the batch containing event #`index`, before applying it. */
  function gateAt(control: ReturnType<typeof newControl>, eventId: string) {
    let reached!: () => void;
    let release!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const opened = new Promise<void>((r) => (release = r));
    control.beforeEach = async (e) => {
      if (e.id !== eventId) return;
      control.beforeEach = null;
      reached();
      await opened;
    };
    return { atGate, release };
  }

  it('abort plus a dropped connection mid-batch, then a new runner: exactly once', async () => {
    const all = await appendTicks(env.store, 120, { perAppend: 4, streams: 6 });
    await waitUntilReadable(env.store, all);
    const ordered = await expectedTicks(env.store);
    const control = newControl();
    const gate = gateAt(control, ordered.eventIds[75]);
    const first = newRuntime(env.store, env.dataSource, [tickProjection(control)]);
    env.runtimes.push(first.runtime);
    await first.runtime.start();
    await gate.atGate;

    expect(await dropRunnerConnections(env.dataSource)).toBe(1);
    const stopping = first.runtime.stop();
    gate.release();
    await stopping;
    const partial = await readTicks(env.dataSource);
    expect(partial.list.map((r) => r.event_id)).toEqual(ordered.eventIds.slice(0, 50));

    const second = newRuntime(env.store, env.dataSource, [tickProjection(newControl())]);
    env.runtimes.push(second.runtime);
    await second.runtime.start();
    expect(await second.waiter.waitFor(all, [NAME], 45_000)).toBe(true);
    await expectExactlyOnce(env);
  });

  it('a dropped connection alone: the same runner reconnects and finishes exactly once', async () => {
    const all = await appendTicks(env.store, 90, { perAppend: 9, prefix: 'again' });
    const ordered = await expectedTicks(env.store);
    const control = newControl();
    const gate = gateAt(control, ordered.eventIds[ordered.eventIds.length - 30]);
    const { runtime, waiter } = newRuntime(env.store, env.dataSource, [tickProjection(control)]);
    env.runtimes.push(runtime);
    await runtime.start();
    await gate.atGate;
    expect(await dropRunnerConnections(env.dataSource)).toBe(1);
    gate.release();
    expect(await waiter.waitFor(all, [NAME], 45_000)).toBe(true);
    await expectExactlyOnce(env);
  });
});

describe('projection runner: one active runner per projection', () => {
  const env = setupEnv('proj_lock');

  it('a second runner waits for the lock and takes over when the first stops', async () => {
    const controlA = newControl();
    const controlB = newControl();
    const secondDataSource = await openDataSource(env.db.url);
    try {
      const a = newRuntime(env.store, env.dataSource, [tickProjection(controlA)]);
      const b = newRuntime(env.store, secondDataSource, [tickProjection(controlB)]);
      env.runtimes.push(a.runtime, b.runtime);
      await a.runtime.start();
      await vi.waitFor(() => expect(a.runtime.runner(NAME)?.state).toBe('running'), {
        timeout: 20_000,
        interval: 10,
      });
      await b.runtime.start();
      await vi.waitFor(() => expect(b.runtime.runner(NAME)?.state).toBe('waiting_for_lock'), {
        timeout: 20_000,
        interval: 10,
      });

      const first = await appendTicks(env.store, 40, { perAppend: 5 });
      expect(await a.waiter.waitFor(first, [NAME], 45_000)).toBe(true);
      // B's waiter learns A's progress from the checkpoint table.
      expect(await b.waiter.waitFor(first, [NAME], 45_000)).toBe(true);
      expect(controlA.applied).toBe(40);
      expect(controlB.applied).toBe(0);
      expect((await b.runtime.status())[0].status).toBe('waiting_for_lock');

      await a.runtime.stop();
      await vi.waitFor(() => expect(b.runtime.runner(NAME)?.state).toBe('running'), {
        timeout: 20_000,
        interval: 10,
      });
      const second = await appendTicks(env.store, 25, { prefix: 'after' });
      expect(await b.waiter.waitFor(second, [NAME], 45_000)).toBe(true);
      expect(controlA.applied).toBe(40);
      expect(controlB.applied).toBe(25);
      await expectExactlyOnce(env);
    } finally {
      await Promise.all(env.runtimes.map((r) => r.stop()));
      env.runtimes = [];
      await secondDataSource.destroy();
    }
  });
});

describe('projection rebuild', () => {
  const env = setupEnv('proj_rebuild');

  it('a version bump rebuilds from the start into a read model identical to the live one', async () => {
    const live = newRuntime(env.store, env.dataSource, [tickProjection(newControl())]);
    env.runtimes.push(live.runtime);
    await live.runtime.start();
    let last = await appendTicks(env.store, 35, { perAppend: 2 });
    for (let round = 0; round < 3; round++) {
      last = await appendTicks(env.store, 20 + round, { prefix: `round${round}`, streams: 3 });
      expect(await live.waiter.waitFor(last, [NAME], 45_000)).toBe(true);
    }
    const built = await readTicks(env.dataSource);
    await live.runtime.stop();

    const bumped = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl(), { version: 2 }),
    ]);
    env.runtimes.push(bumped.runtime);
    await bumped.runtime.start();
    expect(await bumped.waiter.waitFor(last, [NAME], 45_000)).toBe(true);
    expect(await readTicks(env.dataSource)).toEqual(built);
    expect((await readCheckpointRow(env.dataSource, NAME))?.version).toBe(2);
    await bumped.runtime.stop();
    await expectExactlyOnce(env);

    // The CLI's rebuild, with no runner anywhere: replayed in the foreground.
    const cli = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl(), { version: 2 }),
    ]);
    const progress: number[] = [];
    const result = await cli.runtime.rebuild(NAME, {
      onProgress: (p) => progress.push(p.eventsRead),
    });
    const total = (await expectedTicks(env.store)).total;
    expect(result).toMatchObject({ mode: 'local', eventsRead: total });
    expect(progress.at(-1)).toBe(total);
    expect(await readTicks(env.dataSource)).toEqual(built);
    await expectExactlyOnce(env);
  });

  it('a rebuild while a runner holds the lock elsewhere resets through it and follows it', async () => {
    const built = await readTicks(env.dataSource);
    const running = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl(), { version: 2 }),
    ]);
    env.runtimes.push(running.runtime);
    await running.runtime.start();
    const head = await env.store.headPosition();
    expect(await running.waiter.waitFor(head!, [NAME], 45_000)).toBe(true);

    const cli = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl(), { version: 2 }),
    ]);
    const result = await cli.runtime.rebuild(NAME);
    expect(result.mode).toBe('followed');
    expect(await readTicks(env.dataSource)).toEqual(built);
    await expectExactlyOnce(env);
  });
});

describe('projection waiter', () => {
  const env = setupEnv('proj_wait');

  it('returns false at the timeout when the projection is stopped, true for what it reached', async () => {
    const { runtime, waiter } = newRuntime(env.store, env.dataSource, [
      tickProjection(newControl()),
    ]);
    env.runtimes.push(runtime);
    await runtime.start();
    const reached = await appendTicks(env.store, 10);
    expect(await waiter.waitFor(reached, [NAME], 45_000)).toBe(true);
    await runtime.stop();

    const beyond = await appendTicks(env.store, 3, { prefix: 'unseen' });
    expect(await waiter.waitFor(beyond, [NAME], 300)).toBe(false);
    expect(await waiter.waitFor(reached, [NAME], 45_000)).toBe(true);
    await expect(waiter.waitFor(reached, ['no.such.projection'], 10)).rejects.toThrow(/unknown/);

    // The read-your-writes entry of every use case: all writes' projections, the configured bound.
    expect(await waiter.reached([{ position: beyond, projections: [NAME] }])).toBe(false);
    expect(
      await waiter.reached([
        { position: reached, projections: [NAME] },
        { position: null, projections: [NAME] },
      ]),
    ).toBe(true);
  });
});
