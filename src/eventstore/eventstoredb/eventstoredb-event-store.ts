import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
} from '../event-store';
import { subscribeByPolling } from '../subscription';
import { UpcasterRegistry } from '../upcasting';

export interface EventStoreDbEventStoreOptions {
  connectionString: string;
  upcasters?: UpcasterRegistry;
}

/** EventStoreDB adapter (work in progress: the methods are filled in next). */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly upcasters: UpcasterRegistry;

  constructor(private readonly options: EventStoreDbEventStoreOptions) {
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return Promise.reject(
      new Error(`not implemented: append ${streamId} (${events.length}, ${String(expected)})`),
    );
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    void options;
    return Promise.reject(new Error(`not implemented: readStream ${streamId}`));
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    void options;
    return Promise.reject(new Error('not implemented: readAll'));
  }

  waitForAppends(timeoutMs: number, signal?: AbortSignal, after?: Position | null): Promise<void> {
    void signal;
    void after;
    return new Promise((resolve) => setTimeout(resolve, timeoutMs));
  }

  headPosition(): Promise<Position | null> {
    return Promise.reject(new Error('not implemented: headPosition'));
  }

  subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return subscribeByPolling(this, options, 500);
  }

  ping(): Promise<void> {
    return Promise.reject(new Error(`not implemented: ping ${this.options.connectionString}`));
  }

  close(): Promise<void> {
    void this.upcasters;
    return Promise.resolve();
  }
}
