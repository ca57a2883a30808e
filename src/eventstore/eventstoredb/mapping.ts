/**
 * Pure conversions between the event store port and `@eventstore/db-client`. Kept apart from the
 * adapter so that they can be unit tested without a server.
 */
import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type JSONEventData,
  type JSONType,
  type Position as DbPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  type EventMetadata,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from '../event-store';
import { comparePositions, type Position } from '../../kernel/position';
import { WrongExpectedRevisionError } from '../errors';

export function toDbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (expected < 0n) throw new RangeError(`expected revision must be >= 0, got ${expected}`);
      return expected;
  }
}

/** EventStoreDB positions are (commit, prepare) like ours: the mapping is field for field. */
export function toPosition(position: DbPosition): Position {
  return { commit: position.commit, prepare: position.prepare };
}

export function toDbPosition(position: Position): DbPosition {
  return { commit: position.commit, prepare: position.prepare };
}

/**
 * Our event as EventStoreDB event data. The id is passed through so that EventStoreDB's own
 * idempotency check (same ids appended again to the same stream) makes retries safe.
 */
export function toDbEventData(event: NewEvent): JSONEventData {
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    // JSON.stringify is what the client applies; `undefined` has no JSON form, `null` has.
    data: (event.data === undefined ? null : event.data) as JSONType,
    metadata: { ...event.metadata },
  };
}

/**
 * System events (types starting with `$`: stream metadata, links, statistics, settings) and
 * system or metadata streams (`$...`, `$$...`) are not part of our log.
 */
export function isSystemEvent(type: string, streamId: string): boolean {
  return type.startsWith('$') || streamId.startsWith('$');
}

type DbRecordedEvent = NonNullable<ResolvedEvent['event'] | AllStreamResolvedEvent['event']>;

/**
 * Converts one resolved event; null for what is not ours to deliver: system events, and links
 * whose target was not resolved.
 */
export function fromDbResolvedEvent(
  resolved: ResolvedEvent | AllStreamResolvedEvent,
): RecordedEvent | null {
  const event = resolved.event;
  if (!event) return null;
  if (isSystemEvent(event.type, event.streamId)) return null;
  return fromDbRecordedEvent(event, resolved.commitPosition);
}

export function fromDbRecordedEvent(
  event: DbRecordedEvent,
  commitPosition?: bigint,
): RecordedEvent {
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: toEventMetadata(event.metadata, event.id, event.created),
    streamId: event.streamId,
    revision: event.revision,
    position: eventPosition(event, commitPosition),
    recordedAt: event.created,
  };
}

function eventPosition(event: DbRecordedEvent, commitPosition?: bigint): Position {
  if (event.position) return toPosition(event.position);
  // Servers before 22.6 give no position on stream reads, only the commit position.
  if (commitPosition !== undefined) return { commit: commitPosition, prepare: commitPosition };
  throw new Error(
    `EventStoreDB returned event ${event.id} without a position: a server of version 22.6 or later is required`,
  );
}

/**
 * Our events carry the envelope as JSON metadata. An event written by another tool may carry
 * none; it gets a system envelope rather than a half-filled one.
 */
export function toEventMetadata(raw: unknown, eventId: string, created: Date): EventMetadata {
  if (isEventMetadata(raw)) return raw;
  return {
    tenantId: null,
    actor: { type: 'system', id: 'eventstoredb' },
    correlationId: eventId,
    causationId: null,
    requestId: null,
    sourceIp: null,
    occurredAt: created.toISOString(),
    schemaVersion: 1,
  };
}

function isEventMetadata(raw: unknown): raw is EventMetadata {
  if (typeof raw !== 'object' || raw === null || raw instanceof Uint8Array) return false;
  const m = raw as Partial<Record<keyof EventMetadata, unknown>>;
  return (
    typeof m.actor === 'object' &&
    m.actor !== null &&
    typeof m.correlationId === 'string' &&
    typeof m.occurredAt === 'string' &&
    typeof m.schemaVersion === 'number'
  );
}

/** Translates the client's conflict error into ours; anything else is returned unchanged. */
export function translateAppendError(
  err: unknown,
  streamId: string,
  expected: ExpectedRevision,
): unknown {
  if (err instanceof WrongExpectedVersionError) {
    return new WrongExpectedRevisionError(streamId, expected, toActualRevision(err.actualVersion));
  }
  return err;
}

export function toActualRevision(
  current: CurrentRevision | undefined,
): bigint | 'no_stream' | 'unknown' {
  if (current === undefined) return 'unknown';
  if (current === NO_STREAM) return 'no_stream';
  return current < 0n ? 'no_stream' : current;
}

/** True when `position` lies strictly after `after` (null: the start, so always true). */
export function isAfter(position: Position, after: Position | null | undefined): boolean {
  return !after || comparePositions(position, after) > 0;
}
