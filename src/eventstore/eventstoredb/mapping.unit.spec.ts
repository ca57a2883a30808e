import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import type { EventMetadata, NewEvent } from '../event-store';
import { WrongExpectedRevisionError } from '../errors';
import {
  fromDbResolvedEvent,
  isAfter,
  isSystemEvent,
  toActualRevision,
  toDbEventData,
  toDbExpectedRevision,
  toDbPosition,
  toEventMetadata,
  toPosition,
  translateAppendError,
} from './mapping';

const metadata: EventMetadata = {
  tenantId: 'tenant-1',
  actor: { type: 'user', id: 'user-1' },
  correlationId: 'corr-1',
  causationId: null,
  requestId: 'req-1',
  sourceIp: '127.0.0.1',
  occurredAt: '2026-11-23T10:00:00.000Z',
  schemaVersion: 2,
};

const created = new Date('2026-11-23T10:00:01.000Z');

function allEvent(
  overrides: Partial<NonNullable<AllStreamResolvedEvent['event']>> = {},
): AllStreamResolvedEvent {
  return {
    event: {
      streamId: 'thing-1',
      id: '7d3c1c1e-8d1a-4f57-9a8e-0b4f5f2a1c11',
      isJson: true,
      revision: 4n,
      type: 'ThingHappened',
      created,
      data: { n: 1 },
      metadata: { ...metadata },
      position: { commit: 900n, prepare: 880n },
      ...overrides,
    } as NonNullable<AllStreamResolvedEvent['event']>,
    commitPosition: 900n,
  };
}

describe('EventStoreDB mapping', () => {
  it('maps every expected revision to the client constant or the exact revision', () => {
    expect(toDbExpectedRevision('any')).toBe(ANY);
    expect(toDbExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toDbExpectedRevision('stream_exists')).toBe(STREAM_EXISTS);
    expect(toDbExpectedRevision(0n)).toBe(0n);
    expect(toDbExpectedRevision(41n)).toBe(41n);
    expect(() => toDbExpectedRevision(-1n)).toThrow(RangeError);
  });

  it('maps positions field for field, both ways', () => {
    const ours = toPosition({ commit: 10n, prepare: 7n });
    expect(ours).toEqual({ commit: 10n, prepare: 7n });
    expect(toDbPosition(ours)).toEqual({ commit: 10n, prepare: 7n });
  });

  it('turns a new event into JSON event data keeping its id, type, data and metadata', () => {
    const event: NewEvent = {
      id: '5f0c9a52-0c57-4c55-9d8e-1f6e4b2f8a01',
      type: 'ThingHappened',
      data: { a: [1, 2] },
      metadata,
    };
    expect(toDbEventData(event)).toEqual({
      id: event.id,
      contentType: 'application/json',
      type: 'ThingHappened',
      data: { a: [1, 2] },
      metadata,
    });
    expect(toDbEventData({ ...event, data: undefined }).data).toBeNull();
  });

  it('recognises system events and system or metadata streams', () => {
    expect(isSystemEvent('$metadata', 'thing-1')).toBe(true);
    expect(isSystemEvent('$>', 'thing-1')).toBe(true);
    expect(isSystemEvent('$statsCollected', '$stats-127.0.0.1:2113')).toBe(true);
    expect(isSystemEvent('Anything', '$$thing-1')).toBe(true);
    expect(isSystemEvent('ThingHappened', 'thing-1')).toBe(false);
    expect(isSystemEvent('Paid$', 'order-$1')).toBe(false);
  });

  it('converts a recorded event of $all with its position, revision and envelope', () => {
    const converted = fromDbResolvedEvent(allEvent());
    expect(converted).toEqual({
      id: '7d3c1c1e-8d1a-4f57-9a8e-0b4f5f2a1c11',
      type: 'ThingHappened',
      data: { n: 1 },
      metadata,
      streamId: 'thing-1',
      revision: 4n,
      position: { commit: 900n, prepare: 880n },
      recordedAt: created,
    });
  });

  it('drops system events and unresolved links', () => {
    expect(fromDbResolvedEvent(allEvent({ type: '$metadata', streamId: '$$thing-1' }))).toBeNull();
    expect(fromDbResolvedEvent(allEvent({ type: '$>' }))).toBeNull();
    expect(fromDbResolvedEvent({ commitPosition: 5n })).toBeNull();
  });

  it('falls back to the commit position when an old server gives none on stream reads', () => {
    const resolved: ResolvedEvent = {
      event: { ...allEvent().event, position: undefined } as ResolvedEvent['event'],
      commitPosition: 77n,
    };
    expect(fromDbResolvedEvent(resolved)?.position).toEqual({ commit: 77n, prepare: 77n });
    expect(() => fromDbResolvedEvent({ event: resolved.event })).toThrow(/22\.6/);
  });

  it('gives events written by other tools a system envelope', () => {
    const id = '11111111-2222-4333-8444-555555555555';
    for (const raw of [undefined, 'text', new Uint8Array([1]), { foo: 1 }]) {
      expect(toEventMetadata(raw, id, created)).toEqual({
        tenantId: null,
        actor: { type: 'system', id: 'eventstoredb' },
        correlationId: id,
        causationId: null,
        requestId: null,
        sourceIp: null,
        occurredAt: created.toISOString(),
        schemaVersion: 1,
      });
    }
    expect(toEventMetadata({ ...metadata }, id, created)).toEqual(metadata);
  });

  it('translates the client conflict into WrongExpectedRevisionError with the actual revision', () => {
    const conflict = new WrongExpectedVersionError(undefined, {
      streamName: 'thing-1',
      expected: 3n,
      current: 5n,
    });
    const err = translateAppendError(conflict, 'thing-1', 3n);
    expect(err).toBeInstanceOf(WrongExpectedRevisionError);
    expect(err).toMatchObject({ streamId: 'thing-1', expected: 3n, actual: 5n });

    const absent = new WrongExpectedVersionError(undefined, {
      streamName: 'thing-2',
      expected: STREAM_EXISTS,
      current: NO_STREAM,
    });
    expect(translateAppendError(absent, 'thing-2', 'stream_exists')).toMatchObject({
      actual: 'no_stream',
    });

    const other = new Error('unavailable');
    expect(translateAppendError(other, 'thing-1', 'any')).toBe(other);
  });

  it('maps current revisions, including the -1 a non-throwing client reports', () => {
    expect(toActualRevision(undefined)).toBe('unknown');
    expect(toActualRevision(NO_STREAM)).toBe('no_stream');
    expect(toActualRevision(-1n)).toBe('no_stream');
    expect(toActualRevision(3n)).toBe(3n);
  });

  it('treats the start position as exclusive, like our readAll', () => {
    const p = { commit: 10n, prepare: 10n };
    expect(isAfter(p, null)).toBe(true);
    expect(isAfter(p, undefined)).toBe(true);
    expect(isAfter(p, p)).toBe(false);
    expect(isAfter(p, { commit: 10n, prepare: 9n })).toBe(true);
    expect(isAfter(p, { commit: 11n, prepare: 0n })).toBe(false);
  });
});
