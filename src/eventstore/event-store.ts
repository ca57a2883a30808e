/**
 * The event store port. Two adapters implement it (PostgreSQL, EventStoreDB) and both pass the
 * contract suite in test/contract/event-store.contract.ts.
 *
 * Revisions follow EventStoreDB: a stream's first event has revision 0n.
 */

import type { Actor } from '../kernel/command-context';
import type { Position } from '../kernel/position';

export type { Actor, ActorType } from '../kernel/command-context';
export type { Position } from '../kernel/position';
export { START, comparePositions, decodePosition, encodePosition } from '../kernel/position';

/** Metadata every event carries; the audit log, billing meter and timeline derive from it. */
export interface EventMetadata {
  tenantId: string | null;
  actor: Actor;
  correlationId: string;
  causationId: string | null;
  requestId: string | null;
  sourceIp: string | null;
  /** RFC 3339 instant at which the fact happened (from the command, not the clock of the store). */
  occurredAt: string;
  schemaVersion: number;
}

export interface NewEvent<TData = unknown> {
  /** Deterministic per command (see src/common/ids.ts) so that a retried command cannot append twice. */
  id: string;
  type: string;
  data: TData;
  metadata: EventMetadata;
}

export interface RecordedEvent<TData = unknown> {
  id: string;
  type: string;
  data: TData;
  metadata: EventMetadata;
  streamId: string;
  revision: bigint;
  position: Position;
  recordedAt: Date;
}

/** `no_stream`: the stream must not exist; `stream_exists`: it must; a bigint: its last revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Revision of the last event now in the stream: pass it as the next expected revision. */
  nextExpectedRevision: bigint;
  /** Global position of the last appended event. */
  position: Position;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position; null or absent reads from the start. */
  after?: Position | null;
  maxCount: number;
}

export interface ReadStreamOptions {
  /** Inclusive. */
  fromRevision?: bigint;
  maxCount?: number;
}

export interface SubscribeOptions {
  after?: Position | null;
  signal?: AbortSignal;
  batchSize?: number;
}

export interface EventStore {
  readonly kind: 'postgres' | 'eventstoredb';
  /** Creates its schema where it has one; safe to call more than once. */
  init(): Promise<void>;
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** One batch of the global log in order, never skipping an event that commits late. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Resolves when new events may be readable or after `timeoutMs`, whichever comes first. A hint
   * only: callers must read again to learn whether anything arrived. `after` is the caller's
   * position, so a store that knows of newer events can answer at once.
   */
  waitForAppends(timeoutMs: number, signal?: AbortSignal, after?: Position | null): Promise<void>;
  /**
   * Position of the newest readable event, or null for an empty store. With PostgreSQL it trails
   * the newest committed event while an older transaction is still open.
   */
  headPosition(): Promise<Position | null>;
  /**
   * The newest position this store object has appended (or, for some stores, seen); null before
   * any. Wait for it, not for headPosition(), to know that everything this process wrote is
   * applied somewhere: it may be ahead of the readable head.
   */
  knownHeadPosition(): Position | null;
  /** Catch-up subscription to the global log that goes live when it reaches the head. */
  subscribeToAll(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Where the store gates `readAll` on open transactions (PostgreSQL): declares an open
   * transaction of this process, sharing the store's database, that appends no events, so that
   * readers need not wait for it. Returns the function to call once it has ended.
   */
  declareNonAppending?(transactionId: string): () => void;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
