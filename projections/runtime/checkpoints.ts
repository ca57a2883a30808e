import type { Position } from '../../src/kernel/position';

/**
 * Anything that runs SQL: a TypeORM DataSource, EntityManager or QueryRunner all fit. TypeORM
 * types `query` loosely; every caller here states the row shape it expects.
 */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export async function queryRows<TRow>(
  runner: SqlRunner,
  sql: string,
  parameters: unknown[] = [],
): Promise<TRow[]> {
  const result = await runner.query(sql, parameters);
  return Array.isArray(result) ? (result as TRow[]) : [];
}

/**
 * One row per projection. Positions are numeric(20): PostgreSQL transaction ids (xid8) and
 * EventStoreDB log positions are unsigned 64-bit. A null position means "before the first event".
 */
export const CHECKPOINT_SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  name             text        PRIMARY KEY,
  version          integer     NOT NULL,
  position_commit  numeric(20),
  position_prepare numeric(20),
  events_processed bigint      NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  last_error_at    timestamptz
);
`;

/** Serialises DDL (CREATE TABLE IF NOT EXISTS races on pg_type) across starting processes. */
export const SCHEMA_LOCK_KEY = 'nimbus.projections.schema';

/** Key of the advisory lock that one runner per projection holds across all processes. */
export function runnerLockKey(projectionName: string): string {
  return `nimbus.projection:${projectionName}`;
}

export interface StoredCheckpoint {
  name: string;
  version: number;
  position: Position | null;
  eventsProcessed: bigint;
  updatedAt: Date;
  lastError: string | null;
  lastErrorAt: Date | null;
}

interface CheckpointRow {
  name: string;
  version: number;
  position_commit: string | null;
  position_prepare: string | null;
  events_processed: string;
  updated_at: Date;
  last_error: string | null;
  last_error_at: Date | null;
}

const CHECKPOINT_COLUMNS = `name, version, position_commit::text AS position_commit,
  position_prepare::text AS position_prepare, events_processed::text AS events_processed,
  updated_at, last_error, last_error_at`;

function toCheckpoint(row: CheckpointRow): StoredCheckpoint {
  return {
    name: row.name,
    version: Number(row.version),
    position:
      row.position_commit === null || row.position_prepare === null
        ? null
        : { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) },
    eventsProcessed: BigInt(row.events_processed),
    updatedAt: new Date(row.updated_at),
    lastError: row.last_error,
    lastErrorAt: row.last_error_at === null ? null : new Date(row.last_error_at),
  };
}

export async function ensureCheckpointTable(runner: SqlRunner): Promise<void> {
  await runner.query(CHECKPOINT_SCHEMA);
}

/** Reads checkpoints; a missing table (nothing ever ran) reads as no checkpoints. */
export async function readCheckpoints(
  runner: SqlRunner,
  names?: readonly string[],
): Promise<Map<string, StoredCheckpoint>> {
  const exists = await queryRows<{ present: boolean }>(
    runner,
    `SELECT to_regclass('projection_checkpoints') IS NOT NULL AS present`,
  );
  const result = new Map<string, StoredCheckpoint>();
  if (!exists[0]?.present) return result;
  const rows = names
    ? await queryRows<CheckpointRow>(
        runner,
        `SELECT ${CHECKPOINT_COLUMNS} FROM projection_checkpoints WHERE name = ANY($1::text[])`,
        [names],
      )
    : await queryRows<CheckpointRow>(
        runner,
        `SELECT ${CHECKPOINT_COLUMNS} FROM projection_checkpoints`,
      );
  for (const row of rows) result.set(row.name, toCheckpoint(row));
  return result;
}

export async function readCheckpoint(
  runner: SqlRunner,
  name: string,
): Promise<StoredCheckpoint | null> {
  const rows = await queryRows<CheckpointRow>(
    runner,
    `SELECT ${CHECKPOINT_COLUMNS} FROM projection_checkpoints WHERE name = $1`,
    [name],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

/** Inside a transaction: the checkpoint row, locked against concurrent batch and reset writers. */
export async function lockCheckpoint(
  runner: SqlRunner,
  name: string,
): Promise<StoredCheckpoint | null> {
  const rows = await queryRows<CheckpointRow>(
    runner,
    `SELECT ${CHECKPOINT_COLUMNS} FROM projection_checkpoints WHERE name = $1 FOR UPDATE`,
    [name],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

export async function insertCheckpointIfAbsent(
  runner: SqlRunner,
  name: string,
  version: number,
): Promise<void> {
  await runner.query(
    `INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
    [name, version],
  );
}

/** Back to the start at `version`: for a version bump or a rebuild, with the read model's reset. */
export async function restartCheckpoint(
  runner: SqlRunner,
  name: string,
  version: number,
): Promise<void> {
  await runner.query(
    `UPDATE projection_checkpoints
        SET version = $2, position_commit = NULL, position_prepare = NULL, events_processed = 0,
            updated_at = now(), last_error = NULL, last_error_at = NULL
      WHERE name = $1`,
    [name, version],
  );
}

export async function advanceCheckpoint(
  runner: SqlRunner,
  name: string,
  position: Position,
  eventsRead: number,
): Promise<void> {
  await runner.query(
    `UPDATE projection_checkpoints
        SET position_commit = $2::numeric, position_prepare = $3::numeric,
            events_processed = events_processed + $4, updated_at = now(),
            last_error = NULL, last_error_at = NULL
      WHERE name = $1`,
    [name, position.commit.toString(), position.prepare.toString(), eventsRead],
  );
}

/**
 * Moves the checkpoint from `from` to `to` in one statement (no transaction around it): only
 * while the stored row still has this version and position, which the row lock of the UPDATE
 * makes a compare-and-set. False when the row moved (a reset or rebuild elsewhere).
 */
export async function advanceCheckpointFrom(
  runner: SqlRunner,
  name: string,
  version: number,
  from: Position | null,
  to: Position,
  eventsRead: number,
): Promise<boolean> {
  const rows = await queryRows<{ name: string }>(
    runner,
    // As a CTE so that every driver answers with the RETURNING rows.
    `WITH advanced AS (
       UPDATE projection_checkpoints
          SET position_commit = $5::numeric, position_prepare = $6::numeric,
              events_processed = events_processed + $7, updated_at = now(),
              last_error = NULL, last_error_at = NULL
        WHERE name = $1 AND version = $2
          AND position_commit IS NOT DISTINCT FROM $3::numeric
          AND position_prepare IS NOT DISTINCT FROM $4::numeric
        RETURNING name)
     SELECT name FROM advanced`,
    [
      name,
      version,
      from?.commit.toString() ?? null,
      from?.prepare.toString() ?? null,
      to.commit.toString(),
      to.prepare.toString(),
      eventsRead,
    ],
  );
  return rows.length > 0;
}

export async function recordCheckpointError(
  runner: SqlRunner,
  name: string,
  message: string,
): Promise<void> {
  await runner.query(
    `UPDATE projection_checkpoints SET last_error = $2, last_error_at = now() WHERE name = $1`,
    [name, message.slice(0, 4000)],
  );
}

/** Whether some session (in any process) holds the projection's runner lock right now. */
export async function isRunnerLockHeld(
  runner: SqlRunner,
  projectionName: string,
): Promise<boolean> {
  // A bigint advisory key shows in pg_locks split into classid (high half) and objid (low half).
  const rows = await queryRows<{ held: boolean }>(
    runner,
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks l, (SELECT hashtextextended($1, 0) AS k) key
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = ((key.k >> 32) & 4294967295)
          AND l.objid::bigint = (key.k & 4294967295)
     ) AS held`,
    [runnerLockKey(projectionName)],
  );
  return rows[0]?.held ?? false;
}

export function samePosition(a: Position | null, b: Position | null): boolean {
  if (a === null || b === null) return a === b;
  return a.commit === b.commit && a.prepare === b.prepare;
}

/** The stored checkpoint is not where its runner left it (a rebuild elsewhere): reload. */
export class CheckpointMovedError extends Error {}
