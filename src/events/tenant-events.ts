import { type EventStore, type RecordedEvent } from '../eventstore/event-store';
import { comparePositions, type Position } from '../kernel/position';

export interface TenantEventScan {
  tenantId: string;
  /** Inclusive lower bound on occurredAt. */
  from?: Date | null;
  /** Exclusive upper bound on occurredAt. */
  to?: Date | null;
  /** Stop at this position (the head when the scan began, by default). */
  until?: Position | null;
  batchSize?: number;
}

/**
 * The tenant's events in log order, one batch at a time (each yielded array may be empty when a
 * batch of the log held none of the tenant's events). Reads `$all` through the port up to the
 * head as it was when the scan began, so the result is a consistent snapshot; memory is one batch.
 */
export async function* scanTenantEvents(
  store: EventStore,
  scan: TenantEventScan,
): AsyncGenerator<RecordedEvent[]> {
  const head = scan.until ?? (await store.headPosition());
  if (head === null) return;
  const fromMs = scan.from?.getTime() ?? -Infinity;
  const toMs = scan.to?.getTime() ?? Infinity;
  const batchSize = scan.batchSize ?? 2000;
  // The next batch is read while the caller works on this one (I/O overlaps CPU).
  let pending: Promise<RecordedEvent[]> | null = store.readAll({
    after: null,
    maxCount: batchSize,
  });
  while (pending) {
    const batch: RecordedEvent[] = await pending;
    pending = null;
    if (batch.length === 0) return;
    const after = batch[batch.length - 1].position;
    const mine: RecordedEvent[] = [];
    let reachedHead = false;
    for (const event of batch) {
      if (comparePositions(event.position, head) > 0) {
        reachedHead = true;
        break;
      }
      if (event.metadata.tenantId !== scan.tenantId) continue;
      const at = Date.parse(event.metadata.occurredAt);
      if (at < fromMs || at >= toMs) continue;
      mine.push(event);
    }
    if (!reachedHead && comparePositions(after, head) < 0) {
      pending = store.readAll({ after, maxCount: batchSize });
      // A consumer that stops early must not leave a rejection unhandled.
      pending.catch(() => undefined);
    }
    yield mine;
  }
}
