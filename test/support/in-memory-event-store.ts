import { WrongExpectedRevisionError } from '../../src/eventstore/errors';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
} from '../../src/eventstore/event-store';
import type { Position } from '../../src/kernel/position';

/**
 * The streams of an event store in memory, for pure unit specs of saga steps and handlers (the
 * real adapters have their contract suite in test/contract/). Only reads and appends of streams.
 */
export class InMemoryEventStore implements EventStore {
  /** Behaves as the default adapter towards code that asks. */
  readonly kind = 'postgres' as const;
  private readonly streams = new Map<string, RecordedEvent[]>();
  private sequence = 0n;

  init(): Promise<void> {
    return Promise.resolve();
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const stream = this.streams.get(streamId) ?? [];
    const last = stream.length > 0 ? stream[stream.length - 1].revision : -1n;
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && stream.length === 0) ||
      (expected === 'stream_exists' && stream.length > 0) ||
      expected === last;
    if (!ok) {
      const actual = stream.length > 0 ? last : 'no_stream';
      return Promise.reject(new WrongExpectedRevisionError(streamId, expected, actual));
    }
    let position: Position = { commit: this.sequence, prepare: this.sequence };
    for (const event of events) {
      this.sequence += 1n;
      position = { commit: this.sequence, prepare: this.sequence };
      stream.push({
        ...event,
        streamId,
        revision: BigInt(stream.length),
        position,
        recordedAt: new Date(0),
      });
    }
    this.streams.set(streamId, stream);
    return Promise.resolve({ nextExpectedRevision: BigInt(stream.length - 1), position });
  }

  readStream(streamId: string): Promise<RecordedEvent[]> {
    return Promise.resolve([...(this.streams.get(streamId) ?? [])]);
  }

  /** The types of a stream's events, in order (what the specs assert on). */
  types(streamId: string): string[] {
    return (this.streams.get(streamId) ?? []).map((e) => e.type);
  }

  readAll(): Promise<RecordedEvent[]> {
    return Promise.reject(new Error('not supported in memory'));
  }

  waitForAppends(): Promise<void> {
    return Promise.resolve();
  }

  knownHeadPosition(): Position | null {
    return this.sequence > 0n ? { commit: this.sequence, prepare: this.sequence } : null;
  }

  headPosition(): Promise<Position | null> {
    return Promise.resolve(
      this.sequence > 0n ? { commit: this.sequence, prepare: this.sequence } : null,
    );
  }

  subscribeToAll(): AsyncIterable<RecordedEvent> {
    throw new Error('not supported in memory');
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
