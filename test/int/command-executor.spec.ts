import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors/app-error';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import type { Decider } from '../../src/kernel/decider';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../support/pg';

type CounterEvent =
  | { type: 'CounterOpened'; data: { limit: number } }
  | { type: 'CounterIncremented'; data: { by: number } };
type CounterCommand = { kind: 'open'; limit: number } | { kind: 'increment'; by: number };
interface Counter {
  open: boolean;
  value: number;
  limit: number;
}

const counter: Decider<CounterCommand, CounterEvent, Counter> = {
  category: 'counter',
  initialState: () => ({ open: false, value: 0, limit: 0 }),
  evolve: (s, e) => {
    switch (e.type) {
      case 'CounterOpened':
        return { ...s, open: true, limit: e.data.limit };
      case 'CounterIncremented':
        return { ...s, value: s.value + e.data.by };
    }
  },
  decide: (c, s) => {
    switch (c.kind) {
      case 'open':
        if (s.open) return [];
        return [{ type: 'CounterOpened', data: { limit: c.limit } }];
      case 'increment':
        if (!s.open) throw AppError.notFound('counter', '?');
        if (s.value + c.by > s.limit) throw new AppError('quota_exceeded', 'over the limit');
        return [{ type: 'CounterIncremented', data: { by: c.by } }];
    }
  },
};

function ctx(overrides: Partial<CommandContext> = {}): CommandContext {
  return {
    commandId: randomUUID(),
    tenantId: 't1',
    actor: { type: 'user', id: 'u1' },
    requestId: 'r1',
    sourceIp: '127.0.0.1',
    correlationId: randomUUID(),
    causationId: null,
    now: new Date('2026-11-23T12:00:00Z'),
    ...overrides,
  };
}

describe('CommandExecutor on PostgreSQL', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  beforeAll(async () => {
    db = await createTestDatabase('executor');
    store = new PostgresEventStore({ connectionString: db.url });
    await store.init();
    executor = new CommandExecutor(store);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('appends decided events with the context as metadata and returns revision and position', async () => {
    const id = randomUUID();
    const c = ctx();
    const r = await executor.execute(counter, id, { kind: 'open', limit: 10 }, c);
    expect(r.revision).toBe(0n);
    expect(r.position).not.toBeNull();
    const [e] = await store.readStream(`counter-${id}`);
    expect(e.metadata).toMatchObject({
      tenantId: 't1',
      actor: { type: 'user', id: 'u1' },
      requestId: 'r1',
      occurredAt: '2026-11-23T12:00:00.000Z',
      schemaVersion: 1,
    });
  });

  it('appends nothing when the decider decides nothing, and answers with the position of the state it read', async () => {
    const id = randomUUID();
    const opened = await executor.execute(counter, id, { kind: 'open', limit: 10 }, ctx());
    const again = await executor.execute(counter, id, { kind: 'open', limit: 10 }, ctx());
    // Read-your-writes of the no-op waits for what was read (another writer may have made the change).
    expect(again.position).toEqual(opened.position);
    expect(await store.readStream(`counter-${id}`)).toHaveLength(1);
  });

  it('retries on concurrent writers and never breaks an invariant', async () => {
    const id = randomUUID();
    await executor.execute(counter, id, { kind: 'open', limit: 10 }, ctx());
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, () =>
        executor.execute(counter, id, { kind: 'increment', by: 1 }, ctx(), 50),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(10);
    const state = await executor.load(counter, id);
    expect(state.state.value).toBe(10);
  });

  it('rejects a stale If-Match with 412 and appends nothing', async () => {
    const id = randomUUID();
    await executor.execute(counter, id, { kind: 'open', limit: 10 }, ctx());
    await executor.execute(counter, id, { kind: 'increment', by: 1 }, ctx({ ifMatch: 0n }));
    const err = await executor
      .execute(counter, id, { kind: 'increment', by: 1 }, ctx({ ifMatch: 0n }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('precondition_failed');
    expect(await store.readStream(`counter-${id}`)).toHaveLength(2);
  });

  it('makes a retried command (same command id) append once', async () => {
    const id = randomUUID();
    await executor.execute(counter, id, { kind: 'open', limit: 10 }, ctx());
    const c = ctx();
    await executor.execute(counter, id, { kind: 'increment', by: 2 }, c);
    // The client did not hear the answer and retries with the same command id: the decider sees
    // the new state and decides again, but the event ids collide with the first attempt's.
    const appended = await store.readStream(`counter-${id}`);
    const again = await store.append(
      `counter-${id}`,
      [
        {
          id: appended[1].id,
          type: appended[1].type,
          data: appended[1].data,
          metadata: appended[1].metadata,
        },
      ],
      0n,
    );
    expect(again.nextExpectedRevision).toBe(1n);
    expect(await store.readStream(`counter-${id}`)).toHaveLength(2);
  });

  describe('a create with expectNew', () => {
    it('appends to a new stream without reading it first', async () => {
      const id = randomUUID();
      let reads = 0;
      const counting = new CommandExecutor({
        ...store,
        append: store.append.bind(store),
        readStream: (...args: Parameters<PostgresEventStore['readStream']>) => {
          reads++;
          return store.readStream(...args);
        },
      } as PostgresEventStore);
      const r = await counting.execute(counter, id, { kind: 'open', limit: 3 }, ctx(), {
        expectNew: true,
      });
      expect(reads).toBe(0);
      expect(r.revision).toBe(0n);
      expect(r.state).toEqual({ open: true, value: 0, limit: 3 });
      expect(await store.readStream(`counter-${id}`)).toHaveLength(1);
    });

    it('decides on the stored state when the stream exists after all', async () => {
      const id = randomUUID();
      await executor.execute(counter, id, { kind: 'open', limit: 3 }, ctx());
      const incremented = await executor.execute(counter, id, { kind: 'increment', by: 3 }, ctx());
      const r = await executor.execute(counter, id, { kind: 'open', limit: 9 }, ctx(), {
        expectNew: true,
      });
      expect(r.position).toEqual(incremented.position);
      expect(r.state).toEqual({ open: true, value: 3, limit: 3 });
      expect(await store.readStream(`counter-${id}`)).toHaveLength(2);
    });

    it('answers a retried create (same command id) with the first outcome, appending once', async () => {
      const id = randomUUID();
      const c = ctx();
      const first = await executor.execute(counter, id, { kind: 'open', limit: 3 }, c, {
        expectNew: true,
      });
      const again = await executor.execute(counter, id, { kind: 'open', limit: 3 }, c, {
        expectNew: true,
      });
      expect(again.revision).toBe(first.revision);
      expect(again.position).toEqual(first.position);
      expect(await store.readStream(`counter-${id}`)).toHaveLength(1);
    });
  });
});
