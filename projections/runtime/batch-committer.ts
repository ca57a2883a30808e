import type { DataSource } from 'typeorm';
import type { Position, RecordedEvent } from '../../src/eventstore/event-store';
import {
  advanceCheckpointsOfLockHolders,
  CheckpointMovedError,
  lockCheckpoints,
  samePosition,
} from './checkpoints';
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

  constructor(private readonly dataSource: DataSource) {}

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

  /** Commits the group; returns the members to try again without a failed one (else none). */
  private async commitGroup(group: Pending[]): Promise<Pending[]> {
    const session = this.dataSource.createQueryRunner();
    let current: Pending | undefined;
    try {
      await session.connect();
      await session.startTransaction();
      const names = group.map((p) => p.submission.projection.name);
      const stored = await lockCheckpoints(session, names);
      const applying: Pending[] = [];
      const moved: Pending[] = [];
      for (const pending of group) {
        const { projection, persisted } = pending.submission;
        const row = stored.get(projection.name);
        if (!row || row.version !== projection.version || !samePosition(row.position, persisted))
          moved.push(pending);
        else applying.push(pending);
      }
      for (const pending of applying) {
        current = pending;
        await pending.submission.projection.apply(pending.submission.events, session.manager);
      }
      current = undefined;
      // Advanced only where the runner's session still holds its lock (checked in the statement).
      const advanced = await advanceCheckpointsOfLockHolders(
        session,
        applying.map(({ submission: s }) => ({
          name: s.projection.name,
          position: s.position,
          eventsRead: s.eventsRead,
          pid: s.lockHolder,
        })),
      );
      const lost = applying.filter((p) => !advanced.has(p.submission.projection.name));
      if (lost.length > 0) {
        await session.rollbackTransaction();
        for (const pending of lost) {
          const name = pending.submission.projection.name;
          pending.reject(new Error(`projection ${name}: the runner's lock session is gone`));
        }
        return group.filter((p) => !lost.includes(p));
      }
      await session.commitTransaction();
      for (const pending of moved) {
        const name = pending.submission.projection.name;
        pending.reject(new CheckpointMovedError(`checkpoint of ${name} moved under this runner`));
      }
      for (const pending of applying) pending.resolve();
      return [];
    } catch (err) {
      if (session.isTransactionActive) await session.rollbackTransaction().catch(() => undefined);
      const error = err instanceof Error ? err : new Error(String(err));
      if (current && group.length > 1) {
        // One projection's apply failed: it alone gets the error, the rest go again.
        current.reject(error);
        return group.filter((p) => p !== current);
      }
      for (const pending of group) pending.reject(error);
      return [];
    } finally {
      await session.release().catch(() => undefined);
    }
  }
}
