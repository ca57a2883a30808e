import type { EntityManager } from 'typeorm';
import type { RecordedEvent } from '../../src/eventstore/event-store';

/** One resource's row after a batch: its state folded with the domain's own `evolve`. */
export interface FoldedRow<S> {
  state: S;
  /** The row's creation time: as stored, else the first folded event's time. */
  createdAt: string;
  /** The last folded event's time. */
  updatedAt: string;
}

/** When an event happened: the domain's own `at` where it records one, else its metadata's. */
export function eventTime(event: RecordedEvent): string {
  const at = (event.data as { at?: unknown } | null)?.at;
  return typeof at === 'string' ? at : event.metadata.occurredAt;
}

/** The resource id of a `<category>-<id>` stream, or null for a stream of another category. */
export function idInStream(category: string, streamId: string): string | null {
  return streamId.startsWith(`${category}-`) ? streamId.slice(category.length + 1) : null;
}

/**
 * Folds a batch into one row per resource, so the read model can never disagree with the
 * aggregate about what an event means: the stored states of every resource the batch touches
 * (read in one query), each event through `evolve`, then `write` once per resource with the
 * revision of its last event. The full state is kept in the table's `state` jsonb column.
 */
export async function foldInto<S>(
  events: readonly RecordedEvent[],
  m: EntityManager,
  table: string,
  idOf: (event: RecordedEvent) => string | null,
  initial: () => S,
  evolve: (state: S, event: RecordedEvent) => S,
  write: (id: string, row: FoldedRow<S>, revision: string, m: EntityManager) => Promise<void>,
): Promise<void> {
  const touched = [...new Set(events.map(idOf).filter((id): id is string => id !== null))];
  if (touched.length === 0) return;
  const stored = await m.query<Array<{ id: string; state: S; created_at: Date }>>(
    `SELECT id::text AS id, state, created_at FROM ${table} WHERE id = ANY($1::uuid[])`,
    [touched],
  );
  const rows = new Map<string, { row: FoldedRow<S>; revision: string }>(
    stored.map((r) => {
      const createdAt = r.created_at.toISOString();
      return [r.id, { row: { state: r.state, createdAt, updatedAt: createdAt }, revision: '-1' }];
    }),
  );
  for (const event of events) {
    const id = idOf(event);
    if (id === null) continue;
    const at = eventTime(event);
    const entry = rows.get(id) ?? {
      row: { state: initial(), createdAt: at, updatedAt: at },
      revision: '-1',
    };
    entry.row = { ...entry.row, state: evolve(entry.row.state, event), updatedAt: at };
    entry.revision = event.revision.toString();
    rows.set(id, entry);
  }
  for (const [id, { row, revision }] of rows) {
    if (revision !== '-1') await write(id, row, revision, m);
  }
}
