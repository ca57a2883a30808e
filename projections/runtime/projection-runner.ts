import type { DataSource, QueryRunner } from 'typeorm';
import { retryDelayMs } from '../../src/kernel/retry';
import { type RecordedEvent } from '../../src/eventstore/event-store';
import { comparePositions, type Position } from '../../src/kernel/position';
import {
  advanceCheckpoint,
  advanceCheckpointFrom,
  CheckpointMovedError,
  ensureCheckpointTable,
  insertCheckpointIfAbsent,
  lockCheckpoint,
  readCheckpoint,
  queryRows,
  recordCheckpointError,
  restartCheckpoint,
  runnerLockKey,
  samePosition,
  SCHEMA_LOCK_KEY,
} from './checkpoints';
import type { BatchCommitter } from './batch-committer';
import type { Projection } from './projection';
import type { ProjectionProgress } from './progress';
import type { LogReader } from './shared-log-reader';

export type RunnerState = 'idle' | 'waiting_for_lock' | 'running' | 'error' | 'stopped';

export interface RunnerOptions {
  /** Events read from `$all` and applied per transaction. */
  batchSize?: number;
  /** How often a runner that does not hold the lock tries to take it. */
  lockRetryMs?: number;
  /** Longest idle wait at the head before reading again (appends wake the runner earlier). */
  idleWaitMs?: number;
  /** Retry delay after the first failure; doubles per consecutive failure up to the maximum. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface BatchApplied {
  position: Position;
  eventsRead: number;
  eventsApplied: number;
}

export interface RunnerHooks {
  onBatch?: (batch: BatchApplied) => void;
  onError?: (error: Error) => void;
  onStateChange?: (state: RunnerState) => void;
}

const DEFAULTS: Required<RunnerOptions> = {
  batchSize: 500,
  lockRetryMs: 1000,
  idleWaitMs: 1000,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
};

/**
 * Runs one projection: takes the projection's advisory lock on a dedicated connection, then
 * reads `$all` after the checkpoint and applies each batch together with the new checkpoint in
 * one transaction on that same connection. If the connection dies, the lock and any open batch
 * die with it, so a runner that lost its lock can never commit. Each batch also re-reads the
 * checkpoint row FOR UPDATE and stops if it moved (a CLI rebuild in another process).
 *
 * Failures roll the batch back, are recorded in `projection_checkpoints.last_error`, and the
 * runner retries the same batch after a growing delay: it never skips an event.
 */
export class ProjectionRunner {
  private readonly options: Required<RunnerOptions>;
  private currentState: RunnerState = 'idle';
  private lastFailure: Error | null = null;
  private position: Position | null = null;
  /**
   * The position last written to the checkpoint row. Batches with nothing for this projection
   * move `position` without a transaction; the checkpoint catches up with the next batch that
   * applies something, or when the runner has been idle for `idleWaitMs`. A crash in between only
   * re-reads batches that are skipped again.
   */
  private persistedPosition: Position | null = null;
  private readonly eventTypes: ReadonlySet<string> | null;
  private unpersistedEvents = 0;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** A rebuild: reset the read model under the lock, in the transaction that takes it over. */
  private resetOnPrepare = false;
  /** Backend pid of the session holding this runner's lock. */
  private lockHolder = 0;
  /** When the idle runner last checked that nobody reset its checkpoint (see consume). */
  private lastMoveCheck = 0;

  constructor(
    readonly projection: Projection,
    private readonly store: LogReader,
    private readonly dataSource: DataSource,
    private readonly progress?: ProjectionProgress,
    options: RunnerOptions = {},
    private readonly hooks: RunnerHooks = {},
    /** Commits batches together with the other runners of the process; else one transaction each. */
    private readonly committer?: BatchCommitter,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.eventTypes = projection.eventTypes ? new Set(projection.eventTypes) : null;
  }

  get name(): string {
    return this.projection.name;
  }

  /**
   * Events this runner has read past its stored checkpoint without writing it (batches with
   * nothing for the projection; see persistedPosition).
   */
  get eventsNotYetCheckpointed(): number {
    return this.unpersistedEvents;
  }

  get state(): RunnerState {
    return this.currentState;
  }

  get lastError(): Error | null {
    return this.lastFailure;
  }

  /** Position of the last batch this runner read and handled (committed, or skipped as nothing for it). */
  get checkpoint(): Position | null {
    return this.position;
  }

  /** Starts the loop in the background; `stop()` ends it. */
  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal, null);
  }

  /** Stops after the batch in flight (if any) and releases the lock. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    this.abort = undefined;
  }

  /**
   * The rebuild command's foreground mode: takes the lock (waiting for it), runs until the
   * checkpoint reaches `target` (or the head when null) and returns. A failure is recorded and
   * rethrown instead of retried.
   */
  async catchUp(
    target: Position | null,
    signal: AbortSignal,
    options: { fromStart?: boolean } = {},
  ): Promise<void> {
    this.resetOnPrepare = options.fromStart ?? false;
    await this.run(signal, target ?? 'head');
  }

  private setState(state: RunnerState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.progress?.publishChange({ name: this.name, events: 'unknown' });
    this.hooks.onStateChange?.(state);
  }

  private async run(signal: AbortSignal, until: Position | 'head' | null): Promise<void> {
    try {
      await this.loopUntilStopped(signal, until);
    } finally {
      this.setState('stopped');
    }
  }

  private async loopUntilStopped(
    signal: AbortSignal,
    until: Position | 'head' | null,
  ): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let session: QueryRunner | null = null;
      try {
        session = await this.acquireLock(signal);
        if (!session) break;
        await this.prepare(session);
        this.setState('running');
        const done = await this.consume(session, signal, until, () => {
          failures = 0;
        });
        if (done) break;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof CheckpointMovedError) continue;
        failures++;
        const error = err instanceof Error ? err : new Error(String(err));
        this.lastFailure = error;
        this.setState('error');
        this.hooks.onError?.(error);
        await recordCheckpointError(this.dataSource, this.name, error.message).catch(
          () => undefined,
        );
        if (until !== null) throw error;
        await this.release(session);
        session = null;
        // A runner retries for as long as it runs: no attempt limit.
        const delay = retryDelayMs({ ...this.options, maxAttempts: Infinity }, failures);
        await sleep(delay, signal);
      } finally {
        if (signal.aborted && session && !session.isReleased) {
          // A graceful stop records how far skipped batches took the runner.
          await this.persistSkipped(session).catch(() => undefined);
        }
        await this.release(session);
      }
    }
  }

  /** A connection holding the projection's lock, or null when aborted while waiting. */
  private async acquireLock(signal: AbortSignal): Promise<QueryRunner | null> {
    while (!signal.aborted) {
      const session = this.dataSource.createQueryRunner();
      try {
        await session.connect();
        const rows = await queryRows<{ locked: boolean; pid: number }>(
          session,
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked, pg_backend_pid() AS pid',
          [runnerLockKey(this.name)],
        );
        if (rows[0]?.locked) {
          this.lockHolder = rows[0].pid;
          return session;
        }
      } catch (err) {
        await session.release().catch(() => undefined);
        throw err;
      }
      await session.release();
      this.setState('waiting_for_lock');
      await sleep(this.options.lockRetryMs, signal);
    }
    return null;
  }

  private async release(session: QueryRunner | null): Promise<void> {
    if (!session || session.isReleased) return;
    try {
      if (session.isTransactionActive) await session.rollbackTransaction();
      await session.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [
        runnerLockKey(this.name),
      ]);
    } catch {
      // A dead connection took its lock and transaction with it.
    } finally {
      await session.release().catch(() => undefined);
    }
  }

  /** Creates the tables, and resets the read model in the same transaction on a version change. */
  private async prepare(session: QueryRunner): Promise<void> {
    const { name, version } = this.projection;
    await session.startTransaction();
    try {
      await session.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        SCHEMA_LOCK_KEY,
      ]);
      await ensureCheckpointTable(session);
      await this.projection.setup(session.manager);
      await insertCheckpointIfAbsent(session, name, version);
      const stored = await lockCheckpoint(session, name);
      if (!stored) throw new Error(`checkpoint row of ${name} vanished`);
      if (stored.version > version) {
        throw new Error(
          `projection ${name}: the stored read model has version ${stored.version}, newer than ` +
            `this process's ${version}; a newer deployment owns it`,
        );
      }
      let position = stored.position;
      if (stored.version < version || this.resetOnPrepare) {
        await this.projection.reset(session.manager);
        await restartCheckpoint(session, name, version);
        position = null;
      }
      await session.commitTransaction();
      this.progress?.publishChange({ name, events: 'unknown' });
      this.resetOnPrepare = false;
      this.position = position;
      this.persistedPosition = position;
      this.unpersistedEvents = 0;
      this.progress?.publish({ name, position });
    } catch (err) {
      if (session.isTransactionActive) await session.rollbackTransaction().catch(() => undefined);
      throw err;
    }
  }

  /** Returns true when `until` was reached, false when aborted. */
  private async consume(
    session: QueryRunner,
    signal: AbortSignal,
    until: Position | 'head' | null,
    onSuccess: () => void,
  ): Promise<boolean> {
    while (!signal.aborted) {
      if (until !== null && until !== 'head' && this.position !== null) {
        if (comparePositions(this.position, until) >= 0) {
          await this.persistSkipped(session);
          return true;
        }
      }
      const batch = await this.store.readAll({
        after: this.position,
        maxCount: this.options.batchSize,
      });
      if (batch.length === 0) {
        if (performance.now() - this.lastMoveCheck >= this.options.idleWaitMs) {
          // Writing the skipped batches' checkpoint checks that it did not move; else read it.
          if (!(await this.persistSkipped(session))) await this.ensureCheckpointUnmoved(session);
          this.lastMoveCheck = performance.now();
        }
        onSuccess();
        if (this.currentState === 'error') this.setState('running');
        if (until !== null) {
          await this.persistSkipped(session);
          return true;
        }
        await this.store.waitForAppends(this.options.idleWaitMs, signal, this.position);
        continue;
      }
      await this.applyBatch(session, batch);
      onSuccess();
      if (this.currentState === 'error') this.setState('running');
    }
    return false;
  }

  /** At the head nothing is applied, so a rebuild elsewhere would go unnoticed without this. */
  private async ensureCheckpointUnmoved(session: QueryRunner): Promise<void> {
    const stored = await readCheckpoint(session, this.name);
    if (
      !stored ||
      stored.version !== this.projection.version ||
      !samePosition(stored.position, this.persistedPosition)
    ) {
      throw new CheckpointMovedError(`checkpoint of ${this.name} moved under this runner`);
    }
  }

  private async applyBatch(session: QueryRunner, batch: RecordedEvent[]): Promise<void> {
    const { name } = this.projection;
    const types = this.eventTypes;
    const relevant = types ? batch.filter((e) => types.has(e.type)) : batch;
    const last = batch[batch.length - 1].position;
    if (relevant.length === 0) {
      // Nothing to write: no transaction. With a dozen projections in a process, committing a
      // checkpoint per runner for every event multiplied the database work of each command.
      this.unpersistedEvents += batch.length;
      this.advanceTo(last, batch.length, 0);
      return;
    }
    if (this.committer) {
      await this.committer.commit({
        projection: this.projection,
        events: relevant,
        persisted: this.persistedPosition,
        position: last,
        eventsRead: batch.length + this.unpersistedEvents,
        lockHolder: this.lockHolder,
      });
    } else {
      await this.commitAlone(session, relevant, last, batch.length + this.unpersistedEvents);
    }
    this.progress?.publishChange({ name, events: relevant });
    this.persistedPosition = last;
    this.unpersistedEvents = 0;
    this.advanceTo(last, batch.length, relevant.length);
  }

  private async commitAlone(
    session: QueryRunner,
    relevant: readonly RecordedEvent[],
    last: Position,
    eventsRead: number,
  ): Promise<void> {
    const { name } = this.projection;
    await session.startTransaction();
    try {
      const stored = await lockCheckpoint(session, name);
      if (
        !stored ||
        stored.version !== this.projection.version ||
        !samePosition(stored.position, this.persistedPosition)
      ) {
        throw new CheckpointMovedError(`checkpoint of ${name} moved under this runner`);
      }
      await this.projection.apply(relevant, session.manager);
      await advanceCheckpoint(session, name, last, eventsRead);
      await session.commitTransaction();
    } catch (err) {
      if (session.isTransactionActive) await session.rollbackTransaction().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Writes the checkpoint of batches that were skipped, so that lag and restarts stay current:
   * one compare-and-set statement, not a transaction of four (every runner with nothing to do
   * does this about once per idle period).
   */
  private async persistSkipped(session: QueryRunner): Promise<boolean> {
    if (this.position === null || samePosition(this.position, this.persistedPosition)) return false;
    const last = this.position;
    const advanced = await advanceCheckpointFrom(
      session,
      this.name,
      this.projection.version,
      this.persistedPosition,
      last,
      this.unpersistedEvents,
    );
    if (!advanced) {
      throw new CheckpointMovedError(`checkpoint of ${this.name} moved under this runner`);
    }
    this.persistedPosition = last;
    this.unpersistedEvents = 0;
    return true;
  }

  private advanceTo(last: Position, eventsRead: number, eventsApplied: number): void {
    const { name } = this.projection;
    this.position = last;
    this.progress?.publish({ name, position: last });
    this.hooks.onBatch?.({ position: last, eventsRead, eventsApplied });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
