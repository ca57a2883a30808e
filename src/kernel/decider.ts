/**
 * The write side's vocabulary, free of any framework, database or driver: what a decider is and
 * what it emits. Domain folders import from here (`src/kernel/`), never from the event store.
 */

/** A domain event as deciders produce it: a past-tense type and its data. */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  type: TType;
  data: TData;
}

/**
 * One aggregate in the decider style: pure functions, no I/O. `decide` throws AppError to reject
 * a command; time and ids enter through the command, so the same inputs give the same events.
 */
export interface Decider<TCommand, TEvent extends DomainEvent, TState> {
  /** Stream category: the aggregate with id X lives in stream `<category>-<X>`. */
  readonly category: string;
  initialState(): TState;
  evolve(state: TState, event: TEvent): TState;
  decide(command: TCommand, state: TState): TEvent[];
  /** Schema version of each event type this decider writes; 1 when absent. */
  readonly schemaVersions?: Partial<Record<TEvent['type'], number>>;
}

export function streamName(category: string, id: string): string {
  return `${category}-${id}`;
}
