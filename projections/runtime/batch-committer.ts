import type { DataSource } from 'typeorm';
import type { Position, RecordedEvent } from '../../src/eventstore/event-store';
import { escapeLiteral } from 'pg';
import { CheckpointMovedError, runnerLockKey, samePosition } from './checkpoints';
import type { Projection } from './projection';

/** One runner's batch: its relevant events and where its checkpoint goes. */
export interface BatchSubmission {
  projection: Projection;
  events: readonly RecordedEvent[];
  /** The checkpoint the runner last wrote: the stored row must still hold it. */
  persisted: Position | null;
  /** The new checkpoint (the last event read, relevant or not). */
  position: Position;
  /** Events read since the stored checkpoint, added to its counter. */
  eventsRead: number;
  /** Backend pid of the session holding the runner's lock: the batch commits only while it does. */
  lockHolder: number;
}

interface Pending {
  submission: BatchSubmission;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Commits the batches of a process's runners together: the runners read the same window of the
 * log at about the same time, so the batches they submit in one turn of the event loop go into
 * one transaction with one checkpoint statement, instead of one transaction each. Fewer
 * transactions also means fewer open ones holding back the snapshot xmin below which the log is
 * readable, so the next events reach the runners sooner.
 *
 * Exactly-once stays as with a runner's own transaction: every checkpoint row is locked and
 * compared with where its runner left it, and rows and checkpoints commit together. Right before
 * the commit, every runner's lock must still be held by its session: a runner whose connection
 * died does not commit (its successor, blocked on the checkpoint row, starts from the stored
 * checkpoint either way). A projection whose `apply` throws, or whose runner lost its lock, is
 * left out and the others are committed without it in a fresh transaction; its runner gets the
 * error and handles it as its own (record, back off, retry).
 */
export class BatchCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private committing = false;

  constructor(
    private readonly dataSource: DataSource,
    /**
     * Told the id of each group transaction while it is open (it appends no events, so readers
     * of `$all` need not wait for it); the returned function is called once it has ended.
     */
    private readonly gate?: (transactionId: string) => () => void,
  ) {}

  commit(submission: BatchSubmission): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ submission, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.committing || this.queue.length === 0) return;
    this.scheduled = true;
    // The runners served by one read resume in the same turn; the next one gathers them.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.committing = true;
    let group = this.queue;
    this.queue = [];
    try {
      while (group.length > 0) group = await this.commitGroup(group);
    } finally {
      this.committing = false;
      this.schedule();
    }
  }

  /**
   * Commits the group; returns the members to try again without a failed one (else none).
   *
   * Two round trips besides the projections' own statements: the transaction opens together
   * with the lock of the checkpoint rows (which also answers the transaction's id), and the
   * checkpoints advance together with the COMMIT, each only while its runner's session still
   * holds the runner's lock (else the block raises LOCK_LOST and nothing commits). Both are sent
   * as one simple-protocol query, with their values written as literals (positions and counts are
   * integers, names go through escapeLiteral): two round trips fewer per group than separate
   * statements, on the path every read-your-writes wait takes.
   */
  private async commitGroup(group: Pending[]): Promise<Pending[]> {
    const session = this.dataSource.createQueryRunner();
    let client: SimpleQueryClient | undefined;
    let open = false;
    let current: Pending | undefined;
    let releaseGate: (() => void) | undefined;
    try {
      client = (await session.connect()) as SimpleQueryClient;
      const members = group.map((p) => p.submission);
      open = true;
      const results = await client.query(`BEGIN; ${lockGroupSql(members)}`);
      const locked = lockedRows(results);
      releaseGate = this.gate?.(locked.transactionId);
      const applying: Pending[] = [];
      const moved: Pending[] = [];
      for (const pending of group) {
        const { projection, persisted } = pending.submission;
        const row = locked.rows.get(projection.name);
        if (!row || row.version !== projection.version || !samePosition(row.position, persisted))
          moved.push(pending);
        else applying.push(pending);
      }
      for (const pending of applying) {
        current = pending;
        await pending.submission.projection.apply(pending.submission.events, session.manager);
      }
      current = undefined;
      const advancing = applying.map((p) => p.submission);
      try {
        await client.query(`${advanceGroupSql(advancing)}COMMIT`);
        open = false;
      } catch (err) {
        if ((err as { code?: string }).code !== LOCK_LOST) throw err;
        await client.query('ROLLBACK');
        open = false;
        // Who lost it: those are told, the others go again without them.
        const holding = await lockHolders(client, advancing);
        const lost = applying.filter((p) => !holding.has(p.submission.projection.name));
        for (const pending of lost) {
          const name = pending.submission.projection.name;
          pending.reject(new Error(`projection ${name}: the runner's lock session is gone`));
        }
        return group.filter((p) => !lost.includes(p));
      }
      for (const pending of moved) {
        const name = pending.submission.projection.name;
        pending.reject(new CheckpointMovedError(`checkpoint of ${name} moved under this runner`));
      }
      for (const pending of applying) pending.resolve();
      return [];
    } catch (err) {
      if (open && client) {
        // A connection that cannot even roll back leaves the pool (pg drops an ended client).
        await client.query('ROLLBACK').catch(() => client?.end().catch(() => undefined));
      }
      const error = err instanceof Error ? err : new Error(String(err));
      if (current && group.length > 1) {
        // One projection's apply failed: it alone gets the error, the rest go again.
        current.reject(error);
        return group.filter((p) => p !== current);
      }
      for (const pending of group) pending.reject(error);
      return [];
    } finally {
      releaseGate?.();
      await session.release().catch(() => undefined);
    }
  }
}

/** The pg client under a TypeORM query runner, for the two simple-protocol statements. */
interface SimpleQueryClient {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

interface LockedRow {
  version: number;
  position: Position | null;
}

/**
 * Locks the group's checkpoint rows in name order (two transactions that lock overlapping sets
 * can then never wait for each other in a cycle); also answers the transaction's id.
 */
function lockGroupSql(members: readonly BatchSubmission[]): string {
  const names = members.map((m) => escapeLiteral(m.projection.name)).join(', ');
  return `SELECT name, version, position_commit::text AS position_commit,
      position_prepare::text AS position_prepare, pg_current_xact_id()::text AS xid
    FROM projection_checkpoints WHERE name IN (${names}) ORDER BY name FOR UPDATE`;
}

/** SQLSTATE raised by the advance when a runner's lock is no longer held by its session. */
const LOCK_LOST = 'NX001';

/** True where the advisory lock of runner `name` is held by the session `pid` (SQL). */
function lockHeldSql(name: string, pid: string): string {
  return `EXISTS (
      SELECT 1 FROM pg_locks l
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = ${pid}
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid::bigint = ((hashtextextended(${name}, 0) >> 32) & 4294967295)
         AND l.objid::bigint = (hashtextextended(${name}, 0) & 4294967295))`;
}

/** The names among `members` whose runner's lock is still held by the runner's session. */
async function lockHolders(
  client: SimpleQueryClient,
  members: readonly BatchSubmission[],
): Promise<Set<string>> {
  if (members.length === 0) return new Set();
  const values = members
    .map(
      (m) =>
        `(${escapeLiteral(m.projection.name)}, ${escapeLiteral(runnerLockKey(m.projection.name))}, ${Math.trunc(m.lockHolder)})`,
    )
    .join(', ');
  const result = (await client.query(
    `SELECT r.name FROM (VALUES ${values}) AS r(name, lock_key, pid)
      WHERE ${lockHeldSql('r.lock_key', 'r.pid')}`,
  )) as { rows: Array<{ name: string }> };
  return new Set(result.rows.map((r) => r.name));
}

function lockedRows(results: unknown): {
  rows: Map<string, LockedRow>;
  transactionId: string;
} {
  const last = (Array.isArray(results) ? results[results.length - 1] : results) as {
    rows: Array<{
      name: string;
      version: number;
      position_commit: string | null;
      position_prepare: string | null;
      xid: string;
    }>;
  };
  const rows = new Map<string, LockedRow>();
  let transactionId = '';
  for (const row of last.rows) {
    transactionId = row.xid;
    rows.set(row.name, {
      version: Number(row.version),
      position:
        row.position_commit === null || row.position_prepare === null
          ? null
          : { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) },
    });
  }
  return { rows, transactionId };
}

/**
 * Advances the applied projections' checkpoints, each only while its runner's session holds the
 * runner's lock; raises LOCK_LOST (so the COMMIT after it does not run) when one does not.
 * Nothing when none applied. Ends with `;`.
 */
function advanceGroupSql(applied: readonly BatchSubmission[]): string {
  if (applied.length === 0) return '';
  const values = applied
    .map(
      (s) =>
        `(${escapeLiteral(s.projection.name)}, ${s.position.commit.toString()}::numeric, ` +
        `${s.position.prepare.toString()}::numeric, ${Math.trunc(s.eventsRead)}::bigint, ` +
        `${escapeLiteral(runnerLockKey(s.projection.name))}, ${Math.trunc(s.lockHolder)})`,
    )
    .join(', ');
  return `DO $advance$
DECLARE advanced integer;
BEGIN
  UPDATE projection_checkpoints c
     SET position_commit = a.position_commit, position_prepare = a.position_prepare,
         events_processed = c.events_processed + a.events_read, updated_at = now(),
         last_error = NULL, last_error_at = NULL
    FROM (VALUES ${values}) AS a(name, position_commit, position_prepare, events_read, lock_key, pid)
   WHERE c.name = a.name AND ${lockHeldSql('a.lock_key', 'a.pid')};
  GET DIAGNOSTICS advanced = ROW_COUNT;
  IF advanced < ${applied.length} THEN
    RAISE EXCEPTION 'a projection runner''s lock session is gone' USING ERRCODE = '${LOCK_LOST}';
  END IF;
END
$advance$; `;
}
