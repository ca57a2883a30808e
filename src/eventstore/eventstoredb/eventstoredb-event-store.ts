import { EventEmitter } from 'node:events';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START as DB_START,
  StreamNotFoundError,
  excludeSystemEvents,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type ReadPosition,
} from '@eventstore/db-client';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../event-store';
import { comparePositions, type Position } from '../../kernel/position';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import { wakeOnAppend } from '../subscription';
import { UpcasterRegistry } from '../upcasting';
import {
  fromDbRecordedEvent,
  fromDbResolvedEvent,
  isAfter,
  isSystemEvent,
  toActualRevision,
  toDbEventData,
  toDbExpectedRevision,
  toDbPosition,
  toPosition,
  translateAppendError,
} from './mapping';

/** The part of the client this adapter uses. */
export type EventStoreDbClientApi = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

export interface EventStoreDbEventStoreOptions {
  /** e.g. `esdb://localhost:2113?tls=false` */
  connectionString: string;
  upcasters?: UpcasterRegistry;
  /** A ready client instead of one built from `connectionString` (tests use an in-memory one). */
  client?: EventStoreDbClientApi;
}

/** Page size when walking `$all` backwards past system events to find the head. */
const HEAD_SCAN_PAGE = 256;
const PING_DEADLINE_MS = 2_000;

/**
 * The event store on EventStoreDB (`EVENTSTORE_URL`). EventStoreDB already has what the port
 * asks for: optimistic concurrency on stream revisions, idempotent appends keyed by event id
 * within a stream, a global `$all` log ordered by (commit, prepare) position, and catch-up
 * subscriptions. This adapter maps between the two vocabularies and hides EventStoreDB's own
 * system events.
 *
 * Differences from the PostgreSQL adapter: EventStoreDB scopes event id idempotency to a stream,
 * so reusing an event id in another stream is not detected (DuplicateEventIdError is raised only
 * when a stream's revision holds a different event than the one we appended).
 */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly client: EventStoreDbClientApi;
  private readonly upcasters: UpcasterRegistry;
  private readonly appended = new EventEmitter();
  /** Live subscription to `$all` used only to wake up `waitForAppends` callers. */
  private wakeUp: AllStreamSubscription | undefined;
  private wakeUpStarting: Promise<void> | undefined;
  /** Newest position this instance has seen appended (by itself or through the wake-up feed). */
  private knownHead: Position | null = null;
  private closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    this.client = options.client ?? EventStoreDBClient.connectionString(options.connectionString);
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.appended.setMaxListeners(0);
  }

  /** EventStoreDB has no schema to create. */
  init(): Promise<void> {
    return Promise.resolve();
  }

  async append(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    let result;
    try {
      result = await this.client.appendToStream(streamId, events.map(toDbEventData), {
        expectedRevision: toDbExpectedRevision(expected),
      });
    } catch (err) {
      throw translateAppendError(err, streamId, expected);
    }
    if (!result.success) {
      // Only reachable when the connection string sets throwOnAppendFailure=false.
      throw new WrongExpectedRevisionError(
        streamId,
        expected,
        toActualRevision(result.nextExpectedRevision),
      );
    }
    const nextExpectedRevision = result.nextExpectedRevision;
    // A fresh one-event append reports that event's position. An idempotent repeat reports none,
    // and a multi-event append reports the position of the write, not of its last event: read the
    // last event back so that the position is exactly the one readers will see.
    const position =
      events.length === 1 && result.position
        ? toPosition(result.position)
        : await this.positionOf(streamId, nextExpectedRevision, events[events.length - 1].id);
    this.noteHead(position);
    return { nextExpectedRevision, position };
  }

  private async positionOf(streamId: string, revision: bigint, eventId: string): Promise<Position> {
    const [last] = await this.readStreamRaw(streamId, revision, 1);
    if (!last || last.id !== eventId) {
      // The server called it a success, but the revision holds some other event: the ids were
      // used before, in a different append.
      throw new DuplicateEventIdError(streamId, [eventId]);
    }
    return last.position;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const events = await this.readStreamRaw(
      streamId,
      options.fromRevision ?? 0n,
      options.maxCount ?? Number.MAX_SAFE_INTEGER,
    );
    return events.map((e) => this.upcasters.apply(e));
  }

  private async readStreamRaw(
    streamId: string,
    fromRevision: bigint,
    maxCount: number,
  ): Promise<RecordedEvent[]> {
    if (maxCount <= 0) return [];
    const out: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        fromRevision,
        maxCount,
        direction: FORWARDS,
      });
      for await (const resolved of read) {
        // Stream reads are not filtered: a user stream holds only user events.
        if (resolved.event) out.push(fromDbRecordedEvent(resolved.event, resolved.commitPosition));
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
    return out;
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount;
    const out: RecordedEvent[] = [];
    if (maxCount <= 0) return out;
    let after: Position | null = options.after ?? null;
    // EventStoreDB's fromPosition is inclusive and ours is exclusive: ask for one more and drop
    // the event at `after`. System events are dropped too, so keep paging until the batch is full
    // or the log ends.
    for (;;) {
      const pageSize = maxCount - out.length + (after ? 1 : 0);
      const page = await this.readAllPage(
        after ? toDbPosition(after) : DB_START,
        pageSize,
        FORWARDS,
      );
      let last: Position | null = null;
      for (const resolved of page) {
        const event = resolved.event;
        if (!event) continue;
        const position = toPosition(event.position);
        last = position;
        if (!isAfter(position, after) || out.length >= maxCount) continue;
        const converted = fromDbResolvedEvent(resolved);
        if (converted) out.push(this.upcasters.apply(converted));
      }
      if (out.length >= maxCount || page.length < pageSize || !last) return out;
      after = last;
    }
  }

  private async readAllPage(
    from: ReadPosition,
    maxCount: number,
    direction: typeof FORWARDS | typeof BACKWARDS,
    deadline?: number,
  ): Promise<AllStreamResolvedEvent[]> {
    const page: AllStreamResolvedEvent[] = [];
    const read = this.client.readAll({ fromPosition: from, maxCount, direction, deadline });
    for await (const resolved of read) page.push(resolved);
    return page;
  }

  async headPosition(): Promise<Position | null> {
    let from: ReadPosition = END;
    let before: Position | null = null;
    for (;;) {
      const page = await this.readAllPage(from, HEAD_SCAN_PAGE, BACKWARDS);
      for (const resolved of page) {
        const event = resolved.event;
        if (!event) continue;
        const position = toPosition(event.position);
        // Backwards reads are inclusive of `from` too.
        if (before && comparePositions(position, before) >= 0) continue;
        if (!isSystemEvent(event.type, event.streamId)) return position;
        before = position;
      }
      if (page.length < HEAD_SCAN_PAGE || !before) return null;
      from = toDbPosition(before);
    }
  }

  async waitForAppends(
    timeoutMs: number,
    signal?: AbortSignal,
    after?: Position | null,
  ): Promise<void> {
    if (this.closed || signal?.aborted) return;
    if (after !== undefined && this.knownHead && isAfter(this.knownHead, after)) return;
    const justStarted = await this.ensureWakeUp(timeoutMs);
    if (justStarted && after !== undefined) {
      // Events appended before the wake-up feed started would never wake us: look once.
      const head = await this.headPosition().catch(() => null);
      if (head && isAfter(head, after)) return;
    }
    await wakeOnAppend(this.appended, timeoutMs, signal);
  }

  /**
   * Starts the live wake-up feed if it is not running and waits (at most `boundMs`) for the
   * server to confirm it; true when this call started it.
   */
  private async ensureWakeUp(boundMs: number): Promise<boolean> {
    if (this.wakeUp || this.closed) return false;
    if (this.wakeUpStarting) {
      await this.wakeUpStarting;
      return false;
    }
    this.wakeUpStarting = new Promise<void>((resolve) => {
      setTimeout(resolve, boundMs).unref();
      const feed = this.client.subscribeToAll({
        fromPosition: END,
        filter: excludeSystemEvents(),
      });
      const drop = (): void => {
        if (this.wakeUp === feed) this.wakeUp = undefined;
        resolve();
      };
      feed.on('confirmation', () => {
        this.wakeUp = feed;
        resolve();
      });
      feed.on('data', (resolved: AllStreamResolvedEvent) => {
        if (resolved.event) this.noteHead(toPosition(resolved.event.position));
      });
      // A broken feed is dropped and restarted by the next waiter; until then waits time out.
      feed.on('error', drop);
      feed.on('close', drop);
      feed.on('end', drop);
    }).finally(() => {
      this.wakeUpStarting = undefined;
    });
    await this.wakeUpStarting;
    return true;
  }

  knownHeadPosition(): Position | null {
    return this.knownHead;
  }

  private noteHead(position: Position): void {
    if (!this.knownHead || comparePositions(position, this.knownHead) > 0) {
      this.knownHead = position;
    }
    this.appended.emit('appended');
  }

  subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return this.subscribe(options);
  }

  /**
   * A native catch-up subscription: EventStoreDB reads history, then switches to live delivery
   * without a gap. Its start position is not inclusive for every server version, so events at or
   * before `after` are dropped here as well.
   */
  private async *subscribe(options: SubscribeOptions): AsyncGenerator<RecordedEvent> {
    const { signal } = options;
    const after = options.after ?? null;
    if (signal?.aborted || this.closed) return;
    const subscription = this.client.subscribeToAll(
      {
        fromPosition: after ? toDbPosition(after) : DB_START,
        filter: excludeSystemEvents(),
      },
      { highWaterMark: options.batchSize ?? 1000 },
    );
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      // Cancels the gRPC call; destroying the readable alone would leave the call running.
      subscription
        .unsubscribe()
        .catch(() => undefined)
        .finally(() => subscription.destroy());
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const resolved of subscription) {
        if (signal?.aborted) return;
        const event = fromDbResolvedEvent(resolved);
        if (!event || !isAfter(event.position, after)) continue;
        yield this.upcasters.apply(event);
      }
    } catch (err) {
      // Aborting tears the stream down under the iterator: that is the normal way out.
      if (signal?.aborted || this.closed) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', stop);
      stop();
    }
  }

  async ping(): Promise<void> {
    await this.readAllPage(END, 1, BACKWARDS, PING_DEADLINE_MS);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.appended.emit('appended');
    const feed = this.wakeUp;
    this.wakeUp = undefined;
    await feed?.unsubscribe().catch(() => undefined);
    await this.client.dispose();
  }
}
