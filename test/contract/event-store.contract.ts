import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '../../src/eventstore/event-store';
import {
  comparePositions,
  decodePosition,
  encodePosition,
  type Position,
} from '../../src/kernel/position';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../../src/eventstore/errors';
import { UpcasterRegistry } from '../../src/eventstore/upcasting';

export interface ContractHarness {
  /** A store over the harness's log (possibly shared with other tests: filter by category). */
  create(upcasters?: UpcasterRegistry): Promise<EventStore>;
  dispose?(): Promise<void>;
}

export function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    tenantId: 'tenant-1',
    actor: { type: 'user', id: 'user-1' },
    correlationId: randomUUID(),
    causationId: null,
    requestId: 'req-1',
    sourceIp: '127.0.0.1',
    occurredAt: '2026-11-23T10:00:00.000Z',
    schemaVersion: 1,
    ...overrides,
  };
}

export function event(type = 'ThingHappened', data: unknown = { n: 1 }): NewEvent {
  return { id: randomUUID(), type, data, metadata: metadata() };
}

export function stream(category = 'thing'): string {
  return `${category}-${randomUUID()}`;
}

/** A stream category no other test uses. */
export function category(label: string): string {
  return `${label}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/**
 * Collects `count` events of streams whose id starts with `prefix` from a live subscription, or
 * returns what it has after `timeoutMs`. Filtering keeps the suite valid on a shared log.
 */
export async function collect(
  store: EventStore,
  prefix: string,
  count: number,
  timeoutMs = 30_000,
  after: RecordedEvent['position'] | null = null,
): Promise<RecordedEvent[]> {
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const e of store.subscribeToAll({
      after,
      signal: controller.signal,
      batchSize: 200,
    })) {
      if (!e.streamId.startsWith(prefix)) continue;
      seen.push(e);
      if (seen.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return seen;
}

/**
 * The behaviour every event store adapter must have. Each adapter's spec calls this with a
 * harness that hands out stores over an empty log.
 */
export interface ContractCapabilities {
  /**
   * Event ids are unique across the whole log. PostgreSQL enforces it with a unique index;
   * EventStoreDB only deduplicates ids within one stream, so a reused id elsewhere is accepted.
   * Nimbus derives event ids from command ids, so neither case arises in practice.
   */
  globallyUniqueEventIds: boolean;
}

/**
 * The readable head once it reaches `position` (or after 5 s): it reaches an append once no older
 * transaction is open, and on PostgreSQL any transaction of the server (another test file's)
 * holds it back for a while.
 */
async function readableUpTo(
  store: EventStore,
  position: Position | null,
): Promise<Position | null> {
  let head = await store.headPosition();
  for (let i = 0; i < 100 && position && !(head && comparePositions(head, position) >= 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    head = await store.headPosition();
  }
  return head;
}

export function eventStoreContract(
  name: string,
  harness: () => ContractHarness,
  capabilities: ContractCapabilities = { globallyUniqueEventIds: true },
  /** Why the suite cannot run here: every test is then reported as skipped, none as passed. */
  skipReason?: string,
): void {
  if (skipReason) console.warn(`[contract] event store contract: ${name} skipped: ${skipReason}`);
  describe.skipIf(skipReason !== undefined)(`event store contract: ${name}`, () => {
    let h: ContractHarness;
    let store: EventStore;

    beforeAll(async () => {
      h = harness();
      store = await h.create();
    });
    afterAll(async () => {
      await store?.close();
      await h?.dispose?.();
    });

    it('appends to a new stream and reads it back in order with metadata intact', async () => {
      const s = stream();
      const events = [event('A', { a: 1 }), event('B', { b: 'two' }), event('C', { c: [3] })];
      const result = await store.append(s, events, 'no_stream');
      expect(result.nextExpectedRevision).toBe(2n);
      const read = await store.readStream(s);
      expect(read.map((e) => [e.type, e.revision, e.id])).toEqual([
        ['A', 0n, events[0].id],
        ['B', 1n, events[1].id],
        ['C', 2n, events[2].id],
      ]);
      expect(read[1].data).toEqual({ b: 'two' });
      expect(read[0].metadata).toEqual(events[0].metadata);
      expect(read[0].streamId).toBe(s);
      expect(comparePositions(read[2].position, result.position)).toBe(0);
    });

    it('reads an absent stream as empty, and honours fromRevision and maxCount', async () => {
      expect(await store.readStream(stream())).toEqual([]);
      const s = stream();
      await store.append(s, [event(), event(), event(), event()], 'no_stream');
      const part = await store.readStream(s, { fromRevision: 1n, maxCount: 2 });
      expect(part.map((e) => e.revision)).toEqual([1n, 2n]);
    });

    it('enforces every kind of expected revision', async () => {
      const s = stream();
      await expect(store.append(s, [event()], 'stream_exists')).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await expect(store.append(s, [event()], 0n)).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await store.append(s, [event()], 'no_stream');
      await expect(store.append(s, [event()], 'no_stream')).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect((await store.append(s, [event()], 0n)).nextExpectedRevision).toBe(1n);
      await expect(store.append(s, [event()], 0n)).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      // A revision beyond the stream's end must not leave a gap.
      await expect(store.append(s, [event()], 5n)).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect((await store.append(s, [event()], 'stream_exists')).nextExpectedRevision).toBe(2n);
      expect((await store.append(s, [event()], 'any')).nextExpectedRevision).toBe(3n);
      expect((await store.append(stream(), [event()], 'any')).nextExpectedRevision).toBe(0n);
      const revisions = (await store.readStream(s)).map((e) => e.revision);
      expect(revisions).toEqual([0n, 1n, 2n, 3n]);
    });

    it('reports the actual revision in a conflict', async () => {
      const s = stream();
      await store.append(s, [event(), event()], 'no_stream');
      const err = await store.append(s, [event()], 0n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WrongExpectedRevisionError);
      expect((err as WrongExpectedRevisionError).streamId).toBe(s);
    });

    it('treats a repeated append of the same event ids as an idempotent success', async () => {
      const s = stream();
      const events = [event(), event()];
      const first = await store.append(s, events, 'no_stream');
      const again = await store.append(s, events, 'no_stream');
      expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
      expect(comparePositions(again.position, first.position)).toBe(0);
      const withAny = await store.append(s, events, 'any');
      expect(withAny.nextExpectedRevision).toBe(1n);
      expect(await store.readStream(s)).toHaveLength(2);
    });

    if (capabilities.globallyUniqueEventIds) {
      it('rejects reusing an event id in another stream', async () => {
        const e = event();
        await store.append(stream(), [e], 'no_stream');
        await expect(store.append(stream(), [e], 'no_stream')).rejects.toBeInstanceOf(
          DuplicateEventIdError,
        );
      });
    }

    it('lets exactly one of many parallel writers at the same expected revision win', async () => {
      const s = stream();
      await store.append(s, [event()], 'no_stream');
      const attempts = await Promise.allSettled(
        Array.from({ length: 12 }, () => store.append(s, [event()], 0n)),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a) => a.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(11);
      for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(s)).toHaveLength(2);
    });

    it('serialises parallel appends with expected revision any into a gap-free stream', async () => {
      const s = stream();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.append(s, [event('N', { i })], 'any')),
      );
      const revisions = (await store.readStream(s)).map((e) => e.revision);
      expect(revisions).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    });

    it('knows the newest position it appended, the barrier for everything this process wrote', async () => {
      const local = await h.create();
      try {
        expect(local.knownHeadPosition()).toBeNull();
        const c = category('known');
        const first = await local.append(stream(c), [event(), event()], 'no_stream');
        expect(local.knownHeadPosition()).toEqual(first.position);
        const second = await local.append(stream(c), [event()], 'no_stream');
        expect(local.knownHeadPosition()).toEqual(second.position);
        const head = await readableUpTo(local, second.position);
        expect(head && comparePositions(head, second.position)).toBeGreaterThanOrEqual(0);
      } finally {
        await local.close();
      }
    });

    it('reads $all in batches in a strictly increasing global order', async () => {
      const local = await h.create();
      try {
        const c = category('batch');
        for (let i = 0; i < 5; i++) await local.append(stream(c), [event(), event()], 'no_stream');
        await readableUpTo(local, local.knownHeadPosition());
        const all: RecordedEvent[] = [];
        let after: RecordedEvent['position'] | null = null;
        for (;;) {
          const batch = await local.readAll({ after, maxCount: 3 });
          if (batch.length === 0) break;
          expect(batch.length).toBeLessThanOrEqual(3);
          all.push(...batch);
          after = batch[batch.length - 1].position;
        }
        for (let i = 1; i < all.length; i++) {
          expect(comparePositions(all[i - 1].position, all[i].position)).toBe(-1);
        }
        const seen = all.filter((e) => e.streamId.startsWith(c));
        expect(seen).toHaveLength(10);
        const head = await local.headPosition();
        expect(head && comparePositions(head, seen[9].position)).toBeGreaterThanOrEqual(0);
      } finally {
        await local.close();
      }
    });

    it('delivers every event exactly once, in per-stream order, to a tailing subscriber of 16 writers', async () => {
      const local = await h.create();
      try {
        const writers = 16;
        const appendsPerWriter = 40;
        const c = category('load');
        const streams = Array.from({ length: 24 }, () => stream(c));
        let expected = 0;
        const plan = Array.from({ length: writers }, (_, w) =>
          Array.from({ length: appendsPerWriter }, (_, i) => {
            const size = 1 + ((w + i) % 3);
            expected += size;
            return { stream: streams[(w * 7 + i) % streams.length], size };
          }),
        );
        const start = await local.headPosition();
        const tail = collect(local, c, expected, 60_000, start);
        await Promise.all(
          plan.map(async (steps) => {
            for (const step of steps) {
              const batch = Array.from({ length: step.size }, () => event('Load'));
              await local.append(step.stream, batch, 'any');
            }
          }),
        );
        const seen = await tail;
        expect(seen).toHaveLength(expected);
        expect(new Set(seen.map((e) => e.id)).size).toBe(expected);
        const lastRevision = new Map<string, bigint>();
        for (let i = 0; i < seen.length; i++) {
          const e = seen[i];
          if (i > 0) expect(comparePositions(seen[i - 1].position, e.position)).toBe(-1);
          const prev = lastRevision.get(e.streamId) ?? -1n;
          expect(e.revision).toBe(prev + 1n);
          lastRevision.set(e.streamId, e.revision);
        }
        // What the tail saw is what a fresh reader of the whole log sees.
        const replay = await collect(local, c, expected, 30_000);
        expect(replay.map((e) => e.id)).toEqual(seen.map((e) => e.id));
      } finally {
        await local.close();
      }
    });

    it('resumes a subscription from a stored position without loss or repeat', async () => {
      const local = await h.create();
      try {
        const c = category('resume');
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) {
          const e = event('R', { i });
          ids.push(e.id);
          await local.append(stream(c), [e], 'no_stream');
        }
        const firstHalf = await collect(local, c, 3);
        const stored = encodePosition(firstHalf[2].position);
        const resumedFrom = decodePosition(stored);
        expect(resumedFrom).not.toBeNull();
        const rest = await collect(local, c, 3, 10_000, resumedFrom);
        expect([...firstHalf, ...rest].map((e) => e.id)).toEqual(ids);
        const more = event('R', { i: 6 });
        const live = collect(local, c, 1, 10_000, rest[2].position);
        await local.append(stream(c), [more], 'no_stream');
        expect((await live)[0].id).toBe(more.id);
      } finally {
        await local.close();
      }
    });

    it('applies upcasters on read and never rewrites history', async () => {
      const upcasters = new UpcasterRegistry().register(
        {
          eventType: 'Renamed',
          fromVersion: 1,
          upcast: (d) => ({ ...(d as object), label: (d as { name: string }).name }),
        },
        { eventType: 'Renamed', fromVersion: 2, upcast: (d) => ({ ...(d as object), v3: true }) },
      );
      const local = await h.create(upcasters);
      try {
        const c = category('upcast');
        const s = stream(c);
        await local.append(s, [event('Renamed', { name: 'old' })], 'no_stream');
        const [read] = await local.readStream(s);
        expect(read.data).toEqual({ name: 'old', label: 'old', v3: true });
        expect(read.metadata.schemaVersion).toBe(3);
        const [fromAll] = await collect(local, c, 1, 10_000);
        expect(fromAll.data).toEqual(read.data);
      } finally {
        await local.close();
      }
    });
  });
}
