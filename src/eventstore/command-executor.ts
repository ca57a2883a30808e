import { AppError } from '../common/errors/app-error';
import { eventIdFor } from '../common/ids';
import type { CommandContext } from '../kernel/command-context';
import { streamName, type Decider, type DomainEvent } from '../kernel/decider';
import type { EventMetadata, EventStore, NewEvent, Position } from './event-store';
import { WrongExpectedRevisionError } from './errors';

export type { CommandContext } from '../kernel/command-context';
export type { Decider, DomainEvent } from '../kernel/decider';
export { streamName } from '../kernel/decider';

export interface ExecutionResult<TEvent, TState> {
  events: TEvent[];
  state: TState;
  /** The stream's revision after the command (the resource's ETag); -1n for a stream never written. */
  revision: bigint;
  /**
   * Global position of the last event the answer rests on: the last appended one, or, when the
   * command changed nothing, the stream's last event (another writer may have made the change
   * this command asked for, and read-your-writes must wait for that); null for no stream.
   */
  position: Position | null;
}

export interface LoadedAggregate<TState> {
  state: TState;
  revision: bigint;
  exists: boolean;
  /** Global position of the stream's last event; null for a stream never written. */
  position: Position | null;
}

const DEFAULT_ATTEMPTS = 5;

export interface ExecuteOptions {
  /** How many times the read-decide-append cycle runs when other writers get there first. */
  attempts?: number;
  /**
   * The command creates its aggregate under a fresh id (derived from the command id): decide on
   * the initial state and append with expected revision `no_stream`, without reading the stream
   * first. If the stream exists after all, the append is refused and the command runs the usual
   * read-decide-append cycle, so the outcome is the same, one round trip cheaper when new.
   */
  expectNew?: boolean;
}

/**
 * Runs commands against event-sourced aggregates: read the stream, fold it into state, decide,
 * append with the revision that was read. When another writer got there first the whole cycle
 * runs again on the new state, a bounded number of times.
 */
export class CommandExecutor {
  constructor(private readonly store: EventStore) {}

  async load<C, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    id: string,
  ): Promise<LoadedAggregate<S>> {
    const events = await this.store.readStream(streamName(decider.category, id));
    let state = decider.initialState();
    for (const e of events) state = decider.evolve(state, { type: e.type, data: e.data } as E);
    const last = events.at(-1);
    return {
      state,
      revision: last?.revision ?? -1n,
      exists: last !== undefined,
      position: last?.position ?? null,
    };
  }

  async execute<C, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    id: string,
    command: C,
    context: CommandContext,
    /** The attempts alone, or ExecuteOptions. */
    options: ExecuteOptions | number = {},
  ): Promise<ExecutionResult<E, S>> {
    const { attempts = DEFAULT_ATTEMPTS, expectNew = false } =
      typeof options === 'number' ? { attempts: options } : options;
    const stream = streamName(decider.category, id);
    const assumeNew = expectNew && context.ifMatch === undefined;
    for (let attempt = 1; ; attempt++) {
      const { state, revision, position } =
        assumeNew && attempt === 1
          ? { state: decider.initialState(), revision: -1n, position: null }
          : await this.load(decider, id);
      if (context.ifMatch !== undefined && context.ifMatch !== revision) {
        throw new AppError(
          'precondition_failed',
          `If-Match expected revision ${context.ifMatch}, the resource is at ${revision}`,
          {
            expected: `W/"${context.ifMatch}"`,
            actual: `W/"${revision}"`,
          },
        );
      }
      const events = decider.decide(command, state);
      if (events.length === 0) return { events, state, revision, position };

      const toAppend: NewEvent[] = events.map((e, index) => ({
        id: eventIdFor(context.commandId, index),
        type: e.type,
        data: e.data,
        metadata: metadataFor(context, decider.schemaVersions?.[e.type as E['type']] ?? 1),
      }));
      try {
        const result = await this.store.append(
          stream,
          toAppend,
          revision < 0n ? 'no_stream' : revision,
        );
        const next = events.reduce((s, e) => decider.evolve(s, e), state);
        return {
          events,
          state: next,
          revision: result.nextExpectedRevision,
          position: result.position,
        };
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        if (context.ifMatch !== undefined) {
          throw new AppError(
            'precondition_failed',
            'the resource changed while the request was processed',
            {
              expected: `W/"${context.ifMatch}"`,
            },
          );
        }
        if (attempt >= attempts && !(assumeNew && attempt === 1)) {
          throw new AppError(
            'concurrency_conflict',
            `${decider.category} ${id} is being changed by other requests; retry`,
            {
              attempts,
            },
          );
        }
      }
    }
  }
}

export function metadataFor(context: CommandContext, schemaVersion: number): EventMetadata {
  return {
    tenantId: context.tenantId,
    actor: context.actor,
    correlationId: context.correlationId,
    causationId: context.causationId,
    requestId: context.requestId,
    sourceIp: context.sourceIp,
    occurredAt: context.now.toISOString(),
    schemaVersion,
  };
}
