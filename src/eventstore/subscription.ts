import type { EventStore, Position, RecordedEvent, SubscribeOptions } from './event-store';

/**
 * A catch-up subscription built on `readAll` and `waitForAppends`: reads in batches from the
 * given position, and when it reaches the head waits for a wake-up (or the poll interval).
 */
export async function* subscribeByPolling(
  store: Pick<EventStore, 'readAll' | 'waitForAppends'>,
  options: SubscribeOptions,
  pollIntervalMs: number,
): AsyncGenerator<RecordedEvent> {
  const batchSize = options.batchSize ?? 1000;
  const signal = options.signal;
  let position: Position | null = options.after ?? null;
  while (!signal?.aborted) {
    const batch = await store.readAll({ after: position, maxCount: batchSize });
    for (const event of batch) {
      if (signal?.aborted) return;
      position = event.position;
      yield event;
    }
    if (batch.length < batchSize) await store.waitForAppends(pollIntervalMs, signal, position);
  }
}
