import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defineSaga, sagaStreamId, type SagaDefinition } from '../../../sagas/runtime/definition';
import {
  SagaRuntime,
  type Clock,
  type SagaRuntimeOptions,
} from '../../../sagas/runtime/saga-runtime';
import { SagaTables } from '../../../sagas/runtime/saga-tables';
import type { EventMetadata } from '../../../src/eventstore/event-store';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import {
  EFFECTS_SCHEMA,
  effectsOf,
  effectsSaga,
  executionsOf,
  type EffectsInput,
} from './fixtures/effects-saga';

class ManualClock implements Clock {
  constructor(private current = new Date('2026-11-23T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

function meta(): EventMetadata {
  return {
    tenantId: 'tenant-1',
    actor: { type: 'user', id: 'u1' },
    correlationId: randomUUID(),
    causationId: null,
    requestId: null,
    sourceIp: null,
    occurredAt: new Date().toISOString(),
    schemaVersion: 1,
  };
}

describe('saga runtime on PostgreSQL', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: Pool;
  let saga: SagaDefinition<EffectsInput>;
  const runtimes: SagaRuntime[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sagas');
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    pool = new Pool({ connectionString: db.url, max: 10 });
    await pool.query(EFFECTS_SCHEMA);
    saga = effectsSaga(pool);
  });

  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    saga = effectsSaga(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  async function runtime(options: Partial<SagaRuntimeOptions> = {}): Promise<SagaRuntime> {
    const r = new SagaRuntime({ store, pool, sagas: [saga], timers: 'manual', ...options });
    runtimes.push(r);
    await r.start();
    return r;
  }

  async function placeOrder(input: EffectsInput = {}, orderId = randomUUID()): Promise<string> {
    await store.append(
      `order-${orderId}`,
      [{ id: randomUUID(), type: 'OrderPlaced', data: { orderId, saga: input }, metadata: meta() }],
      'no_stream',
    );
    return orderId;
  }

  async function streamTypes(id: string, name = 'effects'): Promise<string[]> {
    return (await store.readStream(sagaStreamId(name, id))).map((e) => e.type);
  }

  it('runs every step once on an input from $all and completes', async () => {
    const r = await runtime();
    const id = await placeOrder();
    const state = await r.whenSettled('effects', id);

    expect(state.status).toBe('completed');
    expect(state.results).toEqual({
      reserve: { effect: `reserve:${id}` },
      charge: { effect: `charge:${id}` },
      ship: { effect: `ship:${id}` },
    });
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:ship',
    ]);
    expect(await effectsOf(pool, id)).toEqual(['charge', 'reserve', 'ship']);
    expect(await streamTypes(id)).toEqual([
      'SagaStarted',
      'SagaStepStarted',
      'SagaStepSucceeded',
      'SagaStepStarted',
      'SagaStepSucceeded',
      'SagaStepStarted',
      'SagaStepSucceeded',
      'SagaCompleted',
    ]);
    const [started] = await store.readStream(sagaStreamId('effects', id));
    expect(started.metadata).toMatchObject({
      tenantId: 'tenant-1',
      actor: { type: 'system', id: 'saga:effects' },
    });
    const tables = new SagaTables(pool);
    expect(await tables.statusOf('effects', id)).toBe('completed');
    expect(await tables.timersOf('effects', id)).toEqual([]);
  });

  it('retries a transient failure with backoff kept as persisted timer rows', async () => {
    const clock = new ManualClock();
    saga = effectsSaga(pool, {
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 },
    });
    try {
      const r = await runtime({ clock, subscribe: false });
      const tables = new SagaTables(pool);
      const id = randomUUID();
      expect(await r.startSaga(saga, id, { transientFailures: { charge: 2 } })).toEqual({
        streamId: sagaStreamId('effects', id),
        started: true,
      });
      await r.idle();

      const first = await tables.timersOf('effects', id);
      expect(first).toMatchObject([{ kind: 'retry', key: 'retry:execute:charge:2' }]);
      expect(first[0].dueAt.getTime()).toBe(clock.now().getTime() + 1000);
      expect((await r.inspect('effects', id)).state.status).toBe('running');

      // Not due yet: firing timers does nothing.
      clock.advance(999);
      await r.runDueTimers();
      expect(await executionsOf(pool, id)).toEqual(['execute:reserve', 'execute:charge']);

      clock.advance(1);
      expect(await r.runDueTimers()).toBe(1);
      const second = await tables.timersOf('effects', id);
      expect(second).toMatchObject([{ kind: 'retry', key: 'retry:execute:charge:3' }]);
      expect(second[0].dueAt.getTime()).toBe(clock.now().getTime() + 2000);

      clock.advance(2000);
      await r.runDueTimers();
      const state = await r.whenSettled('effects', id);
      expect(state.status).toBe('completed');
      expect(await executionsOf(pool, id)).toEqual([
        'execute:reserve',
        'execute:charge',
        'execute:charge',
        'execute:charge',
        'execute:ship',
      ]);
      expect(await effectsOf(pool, id)).toEqual(['charge', 'reserve', 'ship']);
      expect(await tables.timersOf('effects', id)).toEqual([]);
      const failed = (await r.inspect('effects', id)).events.filter(
        (e) => e.type === 'SagaStepFailed',
      );
      expect(failed.map((e) => e.data)).toMatchObject([
        { step: 'charge', attempt: 1, willRetry: true },
        { step: 'charge', attempt: 2, willRetry: true },
      ]);
    } finally {
      saga = effectsSaga(pool);
    }
  });

  it('compensates the steps before a permanent failure in reverse order', async () => {
    const r = await runtime();
    const id = await placeOrder({ failPermanentlyAt: 'ship' });
    const state = await r.whenSettled('effects', id);

    expect(state.status).toBe('compensated');
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:ship',
      'compensate:charge',
      'compensate:reserve',
    ]);
    expect(await effectsOf(pool, id)).toEqual([]);
    const events = (await r.inspect('effects', id)).events;
    expect(events.filter((e) => e.type === 'SagaStepCompensated').map((e) => e.data)).toMatchObject(
      [{ step: 'charge' }, { step: 'reserve' }],
    );
    expect(events.at(-1)?.type).toBe('SagaCompensated');
    expect(await new SagaTables(pool).statusOf('effects', id)).toBe('compensated');
  });

  it('marks the saga failed when a compensation keeps failing', async () => {
    // Short real backoffs (5-20 ms), fired by the runtime's own timer loop.
    const r = await runtime({ timers: 'auto' });
    const id = await placeOrder({ failPermanentlyAt: 'ship', failCompensationOf: 'reserve' });
    const state = await r.whenSettled('effects', id);

    expect(state.status).toBe('failed');
    expect(state.outcome).toMatch(/step reserve failed: reserve cannot be undone now/);
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:ship',
      'compensate:charge',
      'compensate:reserve',
      'compensate:reserve',
      'compensate:reserve',
    ]);
    expect(await effectsOf(pool, id)).toEqual(['reserve']);
    expect(await new SagaTables(pool).statusOf('effects', id)).toBe('failed');
  });

  it('records an input delivered twice once and starts one instance', async () => {
    const r = await runtime();
    const id = await placeOrder();
    await r.whenSettled('effects', id);
    const [input] = await store.readStream(`order-${id}`);
    const before = await streamTypes(id);

    // The same event delivered again, twice at once.
    await Promise.all([r.recordInput(saga, input), r.recordInput(saga, input)]);
    await r.idle();
    expect(await streamTypes(id)).toEqual(before);

    // And redelivered by a subscription that lost its checkpoint.
    await r.stop();
    await pool.query('DELETE FROM saga_checkpoints');
    const again = await runtime();
    const marker = await placeOrder();
    await again.whenSettled('effects', marker);
    expect(await streamTypes(id)).toEqual(before);
    expect((await streamTypes(id)).filter((t) => t === 'SagaStarted')).toHaveLength(1);
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:ship',
    ]);
  });

  it('starts a saga from a command once however often the command is retried', async () => {
    const r = await runtime({ subscribe: false });
    const id = randomUUID();
    const results = await Promise.all([
      r.startSaga(saga, id, {}),
      r.startSaga(saga, id, {}),
      r.startSaga('effects', id, {}),
    ]);
    expect(results.map((x) => x.started)).toEqual([true, true, true]);
    await r.whenSettled('effects', id);
    expect(await r.startSaga(saga, id, {})).toEqual({
      streamId: sagaStreamId('effects', id),
      started: true,
    });

    // Already started by an event: a command's start is refused, not merged.
    const byEvent = await placeOrder();
    await r.stop();
    const follower = await runtime();
    await follower.whenSettled('effects', byEvent);
    expect((await follower.startSaga(saga, byEvent, {})).started).toBe(false);
    expect((await streamTypes(id)).filter((t) => t === 'SagaStarted')).toHaveLength(1);
    expect(await executionsOf(pool, id)).toHaveLength(3);
  });

  it('a saga its request starts is started by the request’s event too: a crash between append and start loses nothing', async () => {
    saga = effectsSaga(pool, { name: 'effects_started', startedByOrder: true });
    const r = await runtime();

    // The request appended its event and died before starting the saga.
    const crashed = await placeOrder();
    expect((await r.whenSettled('effects_started', crashed)).status).toBe('completed');

    // The request started the saga itself; its event, read later, starts and feeds nothing.
    const started = randomUUID();
    await r.startSaga(saga, started, {});
    await placeOrder({}, started);
    await r.whenSettled('effects_started', started);
    const marker = await placeOrder();
    await r.whenSettled('effects_started', marker);
    for (const id of [crashed, started]) {
      const types = await streamTypes(id, 'effects_started');
      expect(types.filter((t) => t === 'SagaStarted')).toHaveLength(1);
      expect(types).not.toContain('SagaInputReceived');
      expect(await executionsOf(pool, id)).toEqual([
        'execute:reserve',
        'execute:charge',
        'execute:ship',
      ]);
    }

    // A restarted process reads on from its checkpoint: nothing starts twice.
    await r.stop();
    const again = await runtime();
    const after = await placeOrder();
    await again.whenSettled('effects_started', after);
    expect(await executionsOf(pool, crashed)).toHaveLength(3);
  });

  it('a starting event older than the start horizon starts nothing: old history is not provisioned again', async () => {
    saga = effectsSaga(pool, { name: 'effects_horizon', startedByOrder: true });
    const r = await runtime({ startHorizonMs: 3_600_000 });
    const old = randomUUID();
    await store.append(
      `order-${old}`,
      [
        {
          id: randomUUID(),
          type: 'OrderPlaced',
          data: { orderId: old },
          metadata: { ...meta(), occurredAt: new Date(Date.now() - 2 * 3_600_000).toISOString() },
        },
      ],
      'no_stream',
    );
    const recent = await placeOrder();
    await r.whenSettled('effects_horizon', recent);
    expect(await streamTypes(old, 'effects_horizon')).toEqual([]);
    expect(await executionsOf(pool, old)).toEqual([]);
  });

  it('one reader of $all serves every saga, each from its own checkpoint', async () => {
    const first = effectsSaga(pool, { name: 'effects_first' });
    const late = effectsSaga(pool, { name: 'effects_late', startedByOrder: true });
    saga = first;
    const early = await runtime({ sagas: [first] });
    const before = await placeOrder();
    await early.whenSettled('effects_first', before);
    await early.stop();

    // A saga added later reads the log from its beginning; the other does not read it again.
    const both = await runtime({ sagas: [first, late] });
    const next = await placeOrder();
    await both.whenSettled('effects_first', next);
    await both.whenSettled('effects_late', next);
    await both.whenSettled('effects_late', before);
    expect(
      (await streamTypes(before, 'effects_first')).filter((t) => t === 'SagaStarted'),
    ).toHaveLength(1);
    expect(await executionsOf(pool, before)).toHaveLength(6);
  });

  it('lets one of two runtimes drive an instance: each step still runs once', async () => {
    const a = await runtime();
    const b = await runtime();
    const ids = await Promise.all(Array.from({ length: 5 }, () => placeOrder()));
    for (const id of ids) {
      await Promise.race([a.whenSettled('effects', id), b.whenSettled('effects', id)]);
      expect(await executionsOf(pool, id)).toEqual([
        'execute:reserve',
        'execute:charge',
        'execute:ship',
      ]);
      expect((await streamTypes(id)).filter((t) => t === 'SagaCompleted')).toHaveLength(1);
    }
  });

  it('aborts an attempt at its timeout, which is also a persisted timer row, and retries', async () => {
    const seenTimers: unknown[] = [];
    const slow = defineSaga<Record<string, never>, { wait: { attempt: number } }>({
      name: 'slow',
      steps: [
        {
          name: 'wait',
          timeoutMs: 100,
          retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
          execute: async (ctx) => {
            if (ctx.attempt > 1) return { attempt: ctx.attempt };
            const timers = await pool.query(
              'SELECT kind, timer_key FROM saga_timers WHERE saga = $1 AND instance_id = $2',
              ['slow', ctx.sagaId],
            );
            seenTimers.push(...timers.rows);
            // Hangs, ignoring its AbortSignal: the runtime must still move on at the deadline.
            return new Promise<never>(() => undefined);
          },
        },
      ],
    });
    const r = new SagaRuntime({ store, pool, sagas: [slow], timerPollMs: 50 });
    runtimes.push(r);
    await r.start();
    const id = randomUUID();
    await r.startSaga(slow, id, {});
    const state = await r.whenSettled('slow', id);

    expect(state.status).toBe('completed');
    expect(state.results).toEqual({ wait: { attempt: 2 } });
    expect(seenTimers).toEqual([{ kind: 'step_timeout', timer_key: 'timeout:execute:wait:1' }]);
    const failed = (await r.inspect('slow', id)).events.filter((e) => e.type === 'SagaStepFailed');
    expect(failed.map((e) => e.data)).toMatchObject([
      { step: 'wait', attempt: 1, reason: 'timeout', willRetry: true },
    ]);
    expect(await new SagaTables(pool).timersOf('slow', id)).toEqual([]);
  });

  it('resumes unfinished instances on start', async () => {
    const clock = new ManualClock();
    const first = await runtime({ clock, subscribe: false });
    const id = randomUUID();
    await first.startSaga(saga, id, { transientFailures: { reserve: 1 } });
    await first.idle();
    expect((await first.inspect('effects', id)).state.retry).not.toBeNull();
    await first.stop();

    // A new runtime after the retry fell due: it finds the instance in the index and drives it.
    clock.advance(60_000);
    const second = await runtime({ clock, subscribe: false });
    const state = await second.whenSettled('effects', id);
    expect(state.status).toBe('completed');
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:reserve',
      'execute:charge',
      'execute:ship',
    ]);
  });
});
