import { describe, expect, it } from 'vitest';
import type { ReadAllOptions, RecordedEvent } from '../../src/eventstore/event-store';
import type { Position } from '../../src/kernel/position';
import { comparePositions } from '../../src/kernel/position';
import { SharedLogReader, type LogReader } from './shared-log-reader';

/** An in-memory log that counts the reads that reach it. */
class CountingLog implements LogReader {
  readonly events: RecordedEvent[] = [];
  reads = 0;

  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const k = BigInt(this.events.length + 1);
      this.events.push({
        id: `e${k}`,
        type: 'T',
        data: null,
        metadata: {
          tenantId: null,
          actor: { type: 'system', id: 't' },
          correlationId: 'c',
          causationId: null,
          requestId: null,
          sourceIp: null,
          occurredAt: '2026-01-01T00:00:00Z',
          schemaVersion: 1,
        },
        streamId: 's',
        revision: k - 1n,
        position: { commit: k, prepare: k },
        recordedAt: new Date(0),
      });
    }
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    this.reads++;
    await Promise.resolve();
    const after = options.after;
    return this.events
      .filter((e) => !after || comparePositions(e.position, after) > 0)
      .slice(0, options.maxCount);
  }

  async waitForAppends(): Promise<void> {}
}

const at = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });
const ids = (events: RecordedEvent[]): string[] => events.map((e) => e.id);

async function drain(reader: LogReader, after: Position | null, max = 100): Promise<string[]> {
  const seen: string[] = [];
  let position = after;
  for (;;) {
    const batch = await reader.readAll({ after: position, maxCount: max });
    if (batch.length === 0) return seen;
    seen.push(...ids(batch));
    position = batch[batch.length - 1].position;
  }
}

describe('SharedLogReader', () => {
  it('serves many runners at the head from one read of the store per new range', async () => {
    const log = new CountingLog();
    log.append(10);
    const reader = new SharedLogReader(log);
    const runners = await Promise.all(Array.from({ length: 12 }, () => drain(reader, null)));
    for (const seen of runners) expect(seen).toEqual(ids(log.events));
    const readsAfterCatchUp = log.reads;
    expect(readsAfterCatchUp).toBeLessThanOrEqual(4);

    log.append(3);
    const next = await Promise.all(Array.from({ length: 12 }, () => drain(reader, at(10))));
    for (const seen of next) expect(seen).toEqual(['e11', 'e12', 'e13']);
    expect(log.reads - readsAfterCatchUp).toBeLessThanOrEqual(3);
  });

  it('gives a runner positioned ahead of the window exactly the events after it', async () => {
    const log = new CountingLog();
    log.append(50);
    const reader = new SharedLogReader(log, 20_000, 10);
    expect(await drain(reader, at(45))).toEqual(['e46', 'e47', 'e48', 'e49', 'e50']);
    expect(await drain(reader, at(48))).toEqual(['e49', 'e50']);
  });

  it('lets a runner behind the window read the store directly and still see everything', async () => {
    const log = new CountingLog();
    log.append(100);
    const reader = new SharedLogReader(log, 30, 10);
    expect(await drain(reader, at(60))).toHaveLength(40);
    // The window now holds at most the newest 30 events; a rebuild from the start is behind it.
    expect(await drain(reader, null, 7)).toEqual(ids(log.events));
  });

  it('honours maxCount and never returns an event at or before `after`', async () => {
    const log = new CountingLog();
    log.append(25);
    const reader = new SharedLogReader(log, 100, 10);
    const first = await reader.readAll({ after: null, maxCount: 4 });
    expect(ids(first)).toEqual(['e1', 'e2', 'e3', 'e4']);
    const middle = await reader.readAll({ after: at(4), maxCount: 3 });
    expect(ids(middle)).toEqual(['e5', 'e6', 'e7']);
    expect(await drain(reader, at(7), 5)).toEqual(ids(log.events.slice(7)));
  });

  it('drops a read begun for a window that a runner ahead of it replaced meanwhile', async () => {
    const log = new CountingLog();
    log.append(40);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: LogReader = {
      readAll: async (options) => {
        // The first read (for the runner at the start) is held back until the window moved on.
        if (options.after === null) await gate;
        return log.readAll(options);
      },
      waitForAppends: async () => undefined,
    };
    const reader = new SharedLogReader(slow, 1_000, 10);
    const behind = reader.readAll({ after: null, maxCount: 10 });
    const ahead = await reader.readAll({ after: at(30), maxCount: 10 });
    expect(ids(ahead)).toEqual(ids(log.events.slice(30, 40)));
    release();
    // Its read was dropped; it is now behind the window and is served from the store directly.
    expect(ids(await behind)).toEqual(ids(log.events.slice(0, 10)));
    // Later reads from either position see exactly the events after it, with no gap.
    expect(await drain(reader, null, 10)).toEqual(ids(log.events));
    expect(await drain(reader, at(35), 10)).toEqual(ids(log.events.slice(35)));
  });
});

describe('SharedLogReader waiting for appends', () => {
  /** A log whose waits resolve when the test says so, counting them. */
  class WaitingLog extends CountingLog {
    waits = 0;
    private wake: (() => void) | null = null;
    override waitForAppends(): Promise<void> {
      this.waits++;
      return new Promise((resolve) => (this.wake = resolve));
    }
    wakeUp(): void {
      this.wake?.();
    }
  }

  it('given runners at the end of the window, when they wait, then they share one wait and one read', async () => {
    const log = new WaitingLog();
    log.append(3);
    const reader = new SharedLogReader(log);
    await drain(reader, null);
    const readsBefore = log.reads;
    const waits = [1, 2, 3].map(() => reader.waitForAppends(10_000, undefined, at(3)));
    expect(log.waits).toBe(1);
    log.append(2);
    log.wakeUp();
    await Promise.all(waits);
    const batches = await Promise.all(
      [1, 2, 3].map(() => reader.readAll({ after: at(3), maxCount: 10 })),
    );
    expect(batches.map(ids)).toEqual([
      ['e4', 'e5'],
      ['e4', 'e5'],
      ['e4', 'e5'],
    ]);
    expect(log.reads - readsBefore).toBe(1);
  });

  it('given a runner with events ahead of it in the window, then it does not wait', async () => {
    const log = new WaitingLog();
    log.append(3);
    const reader = new SharedLogReader(log);
    await drain(reader, null);
    await reader.waitForAppends(10_000, undefined, at(1));
    expect(log.waits).toBe(0);
  });

  it('given an aborted runner, then its wait ends while the shared one goes on', async () => {
    const log = new WaitingLog();
    log.append(1);
    const reader = new SharedLogReader(log);
    await drain(reader, null);
    const abort = new AbortController();
    const waiting = reader.waitForAppends(10_000, abort.signal, at(1));
    abort.abort();
    await waiting;
    expect(log.waits).toBe(1);
  });
});
