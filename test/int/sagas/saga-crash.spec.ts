import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sagaStreamId } from '../../../sagas/runtime/definition';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import {
  EFFECTS_SCHEMA,
  effectsOf,
  executionsOf,
  type EffectsInput,
} from './fixtures/effects-saga';
import { forkTypeScript } from './fixtures/fork-ts';
import type { ChildMessage } from './fixtures/saga-child';

const CHILD = resolve('test/int/sagas/fixtures/saga-child.ts');
/** A bound on each wait for the child, so a broken runtime fails the test instead of hanging it. */
const WAIT_MS = 30_000;

/** A saga runtime in a real child process, killable with SIGKILL. */
class RuntimeProcess {
  private readonly received: ChildMessage[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message) => {
      this.received.push(message as ChildMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = new Promise((done) => {
      child.on('exit', (code, signal) => {
        done({ code, signal });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  static start(dbUrl: string, pause = ''): RuntimeProcess {
    return new RuntimeProcess(forkTypeScript(CHILD, { SAGA_TEST_DB: dbUrl, SAGA_PAUSE: pause }));
  }

  /** Resolves with the first message of that kind the child sent (before or after the call). */
  async next<K extends ChildMessage['kind']>(kind: K): Promise<Extract<ChildMessage, { kind: K }>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.received.find((m) => m.kind === kind);
      if (found) return found as Extract<ChildMessage, { kind: K }>;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`the saga child exited before sending "${kind}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the saga child sent no "${kind}" within ${WAIT_MS} ms`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    const { signal } = await this.exited;
    expect(signal).toBe('SIGKILL');
  }

  async ensureGone(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.send('stop');
    await this.exited;
  }
}

describe('sagas survive SIGKILL of the process running them', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: Pool;
  const children: RuntimeProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('saga_crash');
    store = new PostgresEventStore({ connectionString: db.url });
    await store.init();
    pool = new Pool({ connectionString: db.url, max: 4 });
    await pool.query(EFFECTS_SCHEMA);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.ensureGone();
  });

  afterAll(async () => {
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  function spawnRuntime(pause = ''): RuntimeProcess {
    const child = RuntimeProcess.start(db.url, pause);
    children.push(child);
    return child;
  }

  async function placeOrder(input: EffectsInput): Promise<string> {
    const orderId = randomUUID();
    await store.append(
      `order-${orderId}`,
      [
        {
          id: randomUUID(),
          type: 'OrderPlaced',
          data: { orderId, saga: input },
          metadata: {
            tenantId: 'tenant-1',
            actor: { type: 'user', id: 'u1' },
            correlationId: randomUUID(),
            causationId: null,
            requestId: null,
            sourceIp: null,
            occurredAt: new Date().toISOString(),
            schemaVersion: 1,
          },
        },
      ],
      'no_stream',
    );
    return orderId;
  }

  async function sagaEvents(id: string): Promise<Array<{ type: string; step?: string }>> {
    const events = await store.readStream(sagaStreamId('effects', id));
    return events.map((e) => ({ type: e.type, step: (e.data as { step?: string }).step }));
  }

  function count(
    events: Array<{ type: string; step?: string }>,
    type: string,
    step?: string,
  ): number {
    return events.filter((e) => e.type === type && (step === undefined || e.step === step)).length;
  }

  it('finishes the work exactly once after kills between steps and in the middle of a step', async () => {
    // 1. Killed between steps: reserve succeeded and was recorded, charge not started.
    const first = spawnRuntime('after:SagaStepSucceeded:reserve');
    await first.next('ready');
    const id = await placeOrder({});
    expect((await first.next('paused')).sagaId).toBe(id);
    await first.kill();
    expect((await sagaEvents(id)).at(-1)).toEqual({ type: 'SagaStepSucceeded', step: 'reserve' });

    // 2. Killed in the middle of charge: its effect is written, its outcome is not recorded.
    const second = spawnRuntime('in:execute:charge');
    expect((await second.next('paused')).sagaId).toBe(id);
    await second.kill();
    expect((await sagaEvents(id)).at(-1)).toEqual({ type: 'SagaStepStarted', step: 'charge' });
    expect(await effectsOf(pool, id)).toEqual(['charge', 'reserve']);
    // The deadline of the attempt in flight outlives the process as a persisted timer.
    const timers = await pool.query<{ kind: string; timer_key: string }>(
      'SELECT kind, timer_key FROM saga_timers WHERE saga = $1 AND instance_id = $2',
      ['effects', id],
    );
    expect(timers.rows).toEqual([{ kind: 'step_timeout', timer_key: 'timeout:execute:charge:1' }]);

    // 3. A fresh process resumes the instance and finishes it.
    const third = spawnRuntime();
    expect(await third.next('settled')).toEqual({
      kind: 'settled',
      sagaId: id,
      status: 'completed',
    });
    await third.stop();

    expect(await effectsOf(pool, id)).toEqual(['charge', 'reserve', 'ship']);
    // charge ran twice (the kill cut the first run short); every other step once.
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:charge',
      'execute:ship',
    ]);
    const events = await sagaEvents(id);
    expect(count(events, 'SagaStarted')).toBe(1);
    expect(count(events, 'SagaCompleted')).toBe(1);
    for (const step of ['reserve', 'charge', 'ship'])
      expect(count(events, 'SagaStepSucceeded', step)).toBe(1);
    expect(count(events, 'SagaStepFailed', 'charge')).toBe(1);
    const status = await pool.query<{ status: string }>(
      'SELECT status FROM saga_instances WHERE saga = $1 AND instance_id = $2',
      ['effects', id],
    );
    expect(status.rows[0].status).toBe('completed');
  });

  it('compensates exactly once when a killed saga then fails', async () => {
    // 1. Killed in the middle of charge.
    const first = spawnRuntime('in:execute:charge');
    await first.next('ready');
    const id = await placeOrder({ failPermanentlyAt: 'ship' });
    await first.next('paused');
    await first.kill();

    // 2. The next process reruns charge, ship fails for good, and it is killed in the middle of
    //    undoing charge (the effect is already deleted, the compensation not recorded).
    const second = spawnRuntime('in:compensate:charge');
    expect(await second.next('paused')).toMatchObject({ at: 'in:compensate:charge', sagaId: id });
    await second.kill();
    expect(await effectsOf(pool, id)).toEqual(['reserve']);

    // 3. The last process finishes the compensation.
    const third = spawnRuntime();
    expect(await third.next('settled')).toEqual({
      kind: 'settled',
      sagaId: id,
      status: 'compensated',
    });
    await third.stop();

    expect(await effectsOf(pool, id)).toEqual([]);
    expect(await executionsOf(pool, id)).toEqual([
      'execute:reserve',
      'execute:charge',
      'execute:charge',
      'execute:ship',
      'compensate:charge',
      'compensate:charge',
      'compensate:reserve',
    ]);
    const events = await sagaEvents(id);
    expect(count(events, 'SagaCompensationStarted')).toBe(1);
    expect(count(events, 'SagaStepCompensated', 'charge')).toBe(1);
    expect(count(events, 'SagaStepCompensated', 'reserve')).toBe(1);
    expect(count(events, 'SagaCompensated')).toBe(1);
    expect(count(events, 'SagaCompleted')).toBe(0);
    expect(events.at(-1)?.type).toBe('SagaCompensated');
  });
});
