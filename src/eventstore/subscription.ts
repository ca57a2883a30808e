import type { EventEmitter } from 'node:events';
import type { EventStore, RecordedEvent, SubscribeOptions } from './event-store';
import type { Position } from '../kernel/position';

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

/**
 * Resolves on the next `appended` event of `emitter`, after `timeoutMs`, or when `signal` aborts,
 * whichever comes first; removes its listeners either way.
 */
export function wakeOnAppend(
  emitter: EventEmitter,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      emitter.off('appended', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    emitter.once('appended', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
