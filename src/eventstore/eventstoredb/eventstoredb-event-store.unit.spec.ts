/**
 * An in-memory stand-in for an EventStoreDB server behind `@eventstore/db-client`, for unit
 * tests of the adapter (no server can run on our machines). It models the server behaviour the
 * adapter depends on, as documented and as the server's source shows it:
 * - every event has the position (log position, log position);
 * - readAll's fromPosition is inclusive, forwards and backwards, and counts system events;
 * - the server writes system events of its own ($-prefixed types and streams) into $all;
 * - a repeated append of the same event ids succeeds without a position;
 * - a multi-event append reports the position of the write, which is not its last event's;
 * - reading an absent stream fails with StreamNotFoundError;
 * - subscribeToAll starts after fromPosition, filters, then delivers new appends live.
 */
import { PassThrough, Readable } from 'node:stream';
import {
  BACKWARDS,
  END,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult,
  type EventData,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventMetadata, type NewEvent, type RecordedEvent } from '../event-store';
import { comparePositions } from '../../kernel/position';
import { WrongExpectedRevisionError } from '../errors';
import { UpcasterRegistry } from '../upcasting';
import { EventStoreDbEventStore, type EventStoreDbClientApi } from './eventstoredb-event-store';

interface StoredRecord {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  data: unknown;
  metadata: unknown;
  position: Position;
  created: Date;
}

const POSITION_STEP = 137n;

class InMemoryEventStoreDb {
  readonly log: StoredRecord[] = [];
  private readonly subscriptions = new Set<{
    stream: PassThrough;
    accepts: (r: StoredRecord) => boolean;
  }>();
  private nextPosition = 1_000n;
  /** How many system events the server writes after each append (statistics and the like). */
  systemEventsPerAppend = 1;
  appendCalls = 0;
  readAllCalls = 0;

  constructor() {
    // A fresh server has system events only.
    for (let i = 0; i < 5; i++) this.writeSystemEvent();
  }

  private record(streamId: string, type: string, revision: bigint, id: string): StoredRecord {
    const position = { commit: this.nextPosition, prepare: this.nextPosition };
    this.nextPosition += POSITION_STEP;
    const r: StoredRecord = {
      streamId,
      id,
      type,
      revision,
      data: {},
      metadata: undefined,
      position,
      created: new Date('2026-11-23T10:00:00.000Z'),
    };
    this.log.push(r);
    return r;
  }

  writeSystemEvent(): void {
    const n = this.log.filter((r) => r.streamId === '$stats-node').length;
    this.publish(this.record('$stats-node', '$statsCollected', BigInt(n), crypto.randomUUID()));
  }

  private streamRecords(streamId: string): StoredRecord[] {
    return this.log.filter((r) => r.streamId === streamId);
  }

  private publish(r: StoredRecord): void {
    for (const s of this.subscriptions) if (s.accepts(r)) s.stream.write(toDb(r));
  }

  readonly client: EventStoreDbClientApi = {
    appendToStream: async (
      streamName: string,
      events: EventData | EventData[],
      options?: { expectedRevision?: AppendExpectedRevision },
    ): Promise<AppendResult> => {
      this.appendCalls++;
      const list = Array.isArray(events) ? events : [events];
      const expected = options?.expectedRevision ?? 'any';
      const existing = this.streamRecords(streamName);
      const current = existing.length - 1;
      // Idempotency: the same ids already in this stream, in this order.
      const firstIndex = existing.findIndex((r) => r.id === list[0].id);
      if (firstIndex >= 0) {
        const matches = list.every((e, i) => existing[firstIndex + i]?.id === e.id);
        if (matches) {
          return {
            success: true,
            nextExpectedRevision: BigInt(firstIndex + list.length - 1),
            position: undefined,
          };
        }
      }
      const ok =
        expected === 'any' ||
        (expected === NO_STREAM && current === -1) ||
        (expected === STREAM_EXISTS && current >= 0) ||
        (typeof expected === 'bigint' && BigInt(current) === expected);
      if (!ok) {
        throw new WrongExpectedVersionError(undefined, {
          streamName,
          expected,
          current: current < 0 ? NO_STREAM : BigInt(current),
        });
      }
      const written = list.map((e, i) => {
        const r = this.record(streamName, e.type, BigInt(current + 1 + i), e.id);
        r.data = JSON.parse(JSON.stringify(e.data));
        r.metadata = e.metadata === undefined ? undefined : JSON.parse(JSON.stringify(e.metadata));
        return r;
      });
      for (const r of written) this.publish(r);
      for (let i = 0; i < this.systemEventsPerAppend; i++) this.writeSystemEvent();
      return {
        success: true,
        nextExpectedRevision: written[written.length - 1].revision,
        // The position of the write: its first event's, as the server reports it.
        position: written[0].position,
      };
    },

    readStream: (streamName: string, options: ReadStreamOptions = {}) => {
      const records = this.streamRecords(streamName);
      if (records.length === 0) {
        const failing = new Readable({ objectMode: true, read: () => undefined });
        setImmediate(() => failing.destroy(new StreamNotFoundError(undefined, streamName)));
        return withCancel(failing);
      }
      const from = typeof options.fromRevision === 'bigint' ? options.fromRevision : 0n;
      const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
      const selected = records.filter((r) => r.revision >= from).slice(0, max);
      return withCancel(Readable.from(selected.map(toDb)));
    },

    readAll: (options: ReadAllOptions = {}) => {
      this.readAllCalls++;
      const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
      const from = options.fromPosition ?? (options.direction === BACKWARDS ? END : START);
      let selected: StoredRecord[];
      if (options.direction === BACKWARDS) {
        const upTo = from === END ? null : from === START ? -1n : from.commit;
        selected = this.log
          .filter((r) => upTo === null || r.position.commit <= upTo)
          .reverse()
          .slice(0, max);
      } else {
        const lowest = from === START ? 0n : from === END ? null : from.commit;
        selected =
          lowest === null ? [] : this.log.filter((r) => r.position.commit >= lowest).slice(0, max);
      }
      return withCancel(Readable.from(selected.map(toDb)));
    },

    subscribeToAll: (options: SubscribeToAllOptions = {}) => {
      const stream = new PassThrough({ objectMode: true });
      const filter = options.filter && 'regex' in options.filter ? options.filter : undefined;
      const regex = filter ? new RegExp(filter.regex) : null;
      const accepts = (r: StoredRecord): boolean => !regex || regex.test(r.type);
      const from = options.fromPosition ?? START;
      const backlog =
        from === END
          ? []
          : this.log.filter((r) => from === START || r.position.commit > from.commit);
      for (const r of backlog) if (accepts(r)) stream.write(toDb(r));
      const entry = { stream, accepts };
      this.subscriptions.add(entry);
      setImmediate(() => stream.emit('confirmation'));
      const subscription = stream as unknown as PassThrough & { unsubscribe(): Promise<void> };
      subscription.unsubscribe = async () => {
        this.subscriptions.delete(entry);
        stream.end();
      };
      return subscription;
    },

    dispose: async () => {
      for (const s of this.subscriptions) s.stream.end();
      this.subscriptions.clear();
    },
  };
}

function toDb(r: StoredRecord): AllStreamResolvedEvent {
  return {
    event: {
      streamId: r.streamId,
      id: r.id,
      isJson: true,
      revision: r.revision,
      type: r.type,
      created: r.created,
      data: r.data,
      metadata: r.metadata,
      position: r.position,
    } as NonNullable<AllStreamResolvedEvent['event']>,
    commitPosition: r.position.commit,
  };
}

function withCancel<T extends Readable>(stream: T): T & { cancel(): Promise<void> } {
  return Object.assign(stream, { cancel: async () => void stream.destroy() });
}

const metadata: EventMetadata = {
  tenantId: 'tenant-1',
  actor: { type: 'user', id: 'user-1' },
  correlationId: 'corr-1',
  causationId: null,
  requestId: 'req-1',
  sourceIp: '127.0.0.1',
  occurredAt: '2026-11-23T10:00:00.000Z',
  schemaVersion: 1,
};

function event(type = 'ThingHappened', data: unknown = { n: 1 }): NewEvent {
  return { id: randomUUID(), type, data, metadata };
}

describe('EventStoreDbEventStore over an in-memory EventStoreDB', () => {
  const open: EventStoreDbEventStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  function setUp(upcasters?: UpcasterRegistry): {
    server: InMemoryEventStoreDb;
    store: EventStoreDbEventStore;
  } {
    const server = new InMemoryEventStoreDb();
    const store = new EventStoreDbEventStore({
      connectionString: 'esdb://unused',
      upcasters,
      client: server.client,
    });
    open.push(store);
    return { server, store };
  }

  it('returns the position of the last appended event, not of the write', async () => {
    const { store } = setUp();
    const result = await store.append('thing-1', [event('A'), event('B'), event('C')], 'no_stream');
    const read = await store.readStream('thing-1');
    expect(read.map((e) => [e.type, e.revision])).toEqual([
      ['A', 0n],
      ['B', 1n],
      ['C', 2n],
    ]);
    expect(read[0].metadata).toEqual(metadata);
    expect(result.nextExpectedRevision).toBe(2n);
    expect(comparePositions(result.position, read[2].position)).toBe(0);
  });

  it('answers a repeated append, which the server confirms without a position, with the first result', async () => {
    const { store } = setUp();
    const events = [event(), event()];
    const first = await store.append('thing-1', events, 'no_stream');
    const again = await store.append('thing-1', events, 'no_stream');
    expect(again).toEqual(first);
    const single = [event()];
    const one = await store.append('thing-2', single, 'no_stream');
    expect(await store.append('thing-2', single, 'any')).toEqual(one);
  });

  it('maps the expected revisions and turns conflicts into WrongExpectedRevisionError', async () => {
    const { store } = setUp();
    await expect(store.append('thing-1', [event()], 'stream_exists')).rejects.toMatchObject({
      actual: 'no_stream',
    });
    await store.append('thing-1', [event(), event()], 'no_stream');
    const err = await store.append('thing-1', [event()], 0n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedRevisionError);
    expect(err).toMatchObject({ streamId: 'thing-1', expected: 0n, actual: 1n });
    expect((await store.append('thing-1', [event()], 1n)).nextExpectedRevision).toBe(2n);
    expect((await store.append('thing-1', [event()], 'stream_exists')).nextExpectedRevision).toBe(
      3n,
    );
    expect((await store.append('thing-1', [event()], 'any')).nextExpectedRevision).toBe(4n);
  });

  it('reads an absent stream as empty and honours fromRevision and maxCount', async () => {
    const { store } = setUp();
    expect(await store.readStream('thing-absent')).toEqual([]);
    await store.append('thing-1', [event(), event(), event(), event()], 'no_stream');
    const part = await store.readStream('thing-1', { fromRevision: 1n, maxCount: 2 });
    expect(part.map((e) => e.revision)).toEqual([1n, 2n]);
  });

  it('reads $all after a position, without system events, filling each batch across them', async () => {
    const { server, store } = setUp();
    server.systemEventsPerAppend = 3;
    for (let i = 0; i < 7; i++) await store.append(`thing-${i}`, [event('N', { i })], 'no_stream');
    const all: RecordedEvent[] = [];
    let after: RecordedEvent['position'] | null = null;
    for (;;) {
      const batch = await store.readAll({ after, maxCount: 2 });
      if (batch.length === 0) break;
      expect(batch.length).toBeLessThanOrEqual(2);
      all.push(...batch);
      after = batch[batch.length - 1].position;
    }
    expect(all.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 1; i < all.length; i++) {
      expect(comparePositions(all[i - 1].position, all[i].position)).toBe(-1);
    }
    // Full batches although every event is followed by three system events.
    expect((await store.readAll({ after: null, maxCount: 5 })).length).toBe(5);
  });

  it('finds the head past trailing system events, and none in a log of system events only', async () => {
    const { server, store } = setUp();
    for (let i = 0; i < 300; i++) server.writeSystemEvent();
    expect(await store.headPosition()).toBeNull();
    server.systemEventsPerAppend = 0;
    const { position } = await store.append('thing-1', [event()], 'no_stream');
    for (let i = 0; i < 600; i++) server.writeSystemEvent();
    expect(await store.headPosition()).toEqual(position);
  });

  it('subscribes after a position, skips system events, goes live and stops on abort', async () => {
    const { store } = setUp();
    const first = await store.append('thing-1', [event('A')], 'no_stream');
    await store.append('thing-2', [event('B')], 'no_stream');
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of store.subscribeToAll({
        after: first.position,
        signal: controller.signal,
      })) {
        seen.push(e.type);
        if (seen.length === 2) controller.abort();
      }
    })();
    await store.append('thing-3', [event('C')], 'no_stream');
    await done;
    expect(seen).toEqual(['B', 'C']);
  });

  it('wakes a waiter when an event is appended, and answers at once when it knows of newer ones', async () => {
    const { store } = setUp();
    const first = await store.append('thing-1', [event()], 'no_stream');
    // Knows of `first` through its own append: a caller behind it need not wait.
    await store.waitForAppends(60_000, undefined, null);
    const waiting = store.waitForAppends(60_000, undefined, first.position);
    await store.append('thing-2', [event()], 'no_stream');
    await waiting;
  });

  it('applies upcasters on every read path', async () => {
    const upcasters = new UpcasterRegistry().register({
      eventType: 'Renamed',
      fromVersion: 1,
      upcast: (d) => ({ ...(d as object), label: (d as { name: string }).name }),
    });
    const { store } = setUp(upcasters);
    await store.append('thing-1', [event('Renamed', { name: 'old' })], 'no_stream');
    const expected = { name: 'old', label: 'old' };
    expect((await store.readStream('thing-1'))[0].data).toEqual(expected);
    expect((await store.readAll({ maxCount: 10 }))[0].data).toEqual(expected);
    const controller = new AbortController();
    for await (const e of store.subscribeToAll({ signal: controller.signal })) {
      expect(e.data).toEqual(expected);
      expect(e.metadata.schemaVersion).toBe(2);
      controller.abort();
    }
  });
});
