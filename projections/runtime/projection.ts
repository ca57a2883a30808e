import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';

/**
 * A named, versioned consumer of `$all` that maintains PostgreSQL read-model tables.
 *
 * The runner calls `apply` with a batch of events inside one transaction that also writes the
 * projection's checkpoint, so a batch is applied entirely or not at all. Read models are plain
 * tables created by `setup` (CREATE TABLE IF NOT EXISTS ...); TypeORM entities map them for
 * queries. Rows that belong to a tenant carry a `tenant_id` column.
 */
export interface Projection {
  /** Stable identifier, also the checkpoint key: `identity.users`, `audit.log`... */
  readonly name: string;
  /** Bump it when the read model's shape or meaning changes: the runner rebuilds from the start. */
  readonly version: number;
  /**
   * Event types this projection reacts to. The runner skips other events without a call to
   * `apply` (the checkpoint still moves past them). Absent: every event is passed.
   */
  readonly eventTypes?: readonly string[];
  /** Creates the read-model tables and indexes; idempotent. Runs before the first batch. */
  setup(manager: EntityManager): Promise<void>;
  /** Empties the read model for a rebuild (TRUNCATE or DELETE); runs in the rebuild transaction. */
  reset(manager: EntityManager): Promise<void>;
  /** Applies a batch of events in order; throwing rolls back the whole batch and its checkpoint. */
  apply(events: readonly RecordedEvent[], manager: EntityManager): Promise<void>;
}

export function defineProjection(projection: Projection): Projection {
  if (!/^[a-z][a-z0-9_.-]*$/.test(projection.name))
    throw new Error(`projection name "${projection.name}" must match [a-z][a-z0-9_.-]*`);
  if (!Number.isInteger(projection.version) || projection.version < 1)
    throw new Error(`projection ${projection.name}: version must be a positive integer`);
  return projection;
}
