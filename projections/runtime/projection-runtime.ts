import { DataSource, type DataSourceOptions } from 'typeorm';
import { type EventStore } from '../../src/eventstore/event-store';
import { comparePositions, encodePosition, type Position } from '../../src/kernel/position';
import {
  ensureCheckpointTable,
  insertCheckpointIfAbsent,
  isRunnerLockHeld,
  lockCheckpoint,
  queryRows,
  readCheckpoints,
  restartCheckpoint,
  SCHEMA_LOCK_KEY,
  type StoredCheckpoint,
} from './checkpoints';
import type { Projection } from './projection';
import { ProjectionProgress } from './progress';
import { BatchCommitter } from './batch-committer';
import { SharedLogReader } from './shared-log-reader';
import { ProjectionRunner, type RunnerOptions, type RunnerState } from './projection-runner';

export interface ProjectionRuntimeOptions {
  runner?: RunnerOptions;
  /**
   * Runners keep a connection each for as long as they hold their lock (a session-level advisory
   * lock lives as long as its connection). By default those sessions come from a pool of their
   * own, one connection per runner, so that they never take the places of the shared pool that
   * requests and batch commits use; false puts them on the DataSource's pool.
   */
  dedicatedPool?: boolean;
  /** Most events counted per projection when computing lag; beyond it the lag is a lower bound. */
  lagCountLimit?: number;
}

export type ProjectionStatusName = RunnerState | 'running_elsewhere';

export interface ProjectionLag {
  /** Events in `$all` after the checkpoint, up to the head. */
  events: number;
  /** False when counting stopped at `lagCountLimit`: the lag is at least `events`. */
  exact: boolean;
}

export interface ProjectionStatus {
  name: string;
  /** Version of the definition in this process. */
  version: number;
  /** Version of the read model in the database; null before the first run. */
  storedVersion: number | null;
  /** Encoded checkpoint position; null at the start. */
  position: string | null;
  eventsProcessed: number;
  head: string | null;
  lag: ProjectionLag;
  /**
   * This process's runner state; without a local runner: `running_elsewhere` when another
   * session holds the projection's lock, `error` when the last batch failed, else `stopped`.
   */
  status: ProjectionStatusName;
  lastError: string | null;
  lastErrorAt: string | null;
  updatedAt: string | null;
}

export interface RebuildProgress {
  eventsRead: number;
  /** Events up to the head when the rebuild started; null when the store cannot count them. */
  total: number | null;
}

export interface RebuildResult {
  name: string;
  eventsRead: number;
  eventsApplied: number;
  durationMs: number;
  /** `local`: this process replayed the log; `followed`: a runner elsewhere did, we watched. */
  mode: 'local' | 'followed';
}

/**
 * The projections of one process: one runner per definition, started and stopped together,
 * plus status and rebuild for the admin route and the CLI. Constructed from an EventStore and
 * a TypeORM DataSource, with or without Nest.
 */
export class ProjectionRuntime {
  readonly progress = new ProjectionProgress();
  private readonly runners = new Map<string, ProjectionRunner>();
  private readonly byName = new Map<string, Projection>();
  private runnerDataSource: DataSource | undefined;
  private started = false;
  /** One read of the log for all live runners of this runtime (see SharedLogReader). */
  private readonly log: SharedLogReader;

  constructor(
    private readonly store: EventStore,
    private readonly dataSource: DataSource,
    projections: readonly Projection[],
    private readonly options: ProjectionRuntimeOptions = {},
  ) {
    for (const projection of projections) {
      if (this.byName.has(projection.name))
        throw new Error(`two projections are named ${projection.name}`);
      this.byName.set(projection.name, projection);
    }
    this.log = new SharedLogReader(store);
  }

  get projections(): Projection[] {
    return [...this.byName.values()];
  }

  get isStarted(): boolean {
    return this.started;
  }

  runner(name: string): ProjectionRunner | undefined {
    return this.runners.get(name);
  }

  /** Starts one runner per projection (each waits for its lock if another process holds it). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.ensureTables();
    const dataSource = await this.sessionDataSource();
    // Batches commit on the DataSource's (the application's shared) pool, not on the lock sessions.
    const committer = new BatchCommitter(
      this.dataSource,
      this.store.declareNonAppending?.bind(this.store),
    );
    for (const projection of this.byName.values()) {
      const runner = new ProjectionRunner(
        projection,
        this.log,
        dataSource,
        this.progress,
        this.options.runner,
        {},
        committer,
      );
      this.runners.set(projection.name, runner);
      runner.start();
    }
  }

  async stop(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
    this.started = false;
    const own = this.runnerDataSource;
    this.runnerDataSource = undefined;
    if (own?.isInitialized) await own.destroy();
  }

  async status(): Promise<ProjectionStatus[]> {
    const stored = await readCheckpoints(this.dataSource, [...this.byName.keys()]);
    const head = await this.store.headPosition();
    const lagCache = new Map<string, Promise<ProjectionLag>>();
    const result: ProjectionStatus[] = [];
    for (const projection of this.byName.values()) {
      const checkpoint = stored.get(projection.name);
      // A runner in this process may be ahead of its stored checkpoint (skipped batches are
      // checkpointed lazily): report where it really is.
      const live = this.runners.get(projection.name);
      const livePosition = live?.state === 'running' ? live.checkpoint : null;
      const ahead =
        livePosition !== null &&
        (!checkpoint?.position || comparePositions(livePosition, checkpoint.position) > 0);
      const position = ahead ? livePosition : (checkpoint?.position ?? null);
      const eventsProcessed =
        Number(checkpoint?.eventsProcessed ?? 0n) +
        (ahead && live ? live.eventsNotYetCheckpointed : 0);
      const key = position ? encodePosition(position) : 'start';
      let lag = lagCache.get(key);
      if (!lag) {
        lag = this.countLag(position, head);
        lagCache.set(key, lag);
      }
      result.push({
        name: projection.name,
        version: projection.version,
        storedVersion: checkpoint?.version ?? null,
        position: position ? encodePosition(position) : null,
        eventsProcessed,
        head: head ? encodePosition(head) : null,
        lag: await lag,
        status: await this.statusOf(projection.name, checkpoint),
        lastError: checkpoint?.lastError ?? null,
        lastErrorAt: checkpoint?.lastErrorAt?.toISOString() ?? null,
        updatedAt: checkpoint?.updatedAt.toISOString() ?? null,
      });
    }
    return result;
  }

  /**
   * Resets the projection and replays the whole log. When no runner holds the projection's lock,
   * this process takes it and replays in the foreground. When a runner elsewhere holds it, the
   * reset is written under the checkpoint's row lock (that runner notices the moved checkpoint
   * and starts over) and this call follows its progress until it reaches the current head.
   */
  async rebuild(
    name: string,
    options: { onProgress?: (progress: RebuildProgress) => void; signal?: AbortSignal } = {},
  ): Promise<RebuildResult> {
    const projection = this.byName.get(name);
    if (!projection) throw new Error(`unknown projection "${name}"`);
    if (this.runners.has(name))
      throw new Error('rebuild runs from a process whose runtime is not started');
    const signal = options.signal ?? new AbortController().signal;
    const head = await this.store.headPosition();
    const total = await this.countEventsUpTo(head);
    const started = performance.now();
    let eventsRead = 0;
    let eventsApplied = 0;
    const report = (): void => options.onProgress?.({ eventsRead, total });
    report();

    if (!(await isRunnerLockHeld(this.dataSource, name))) {
      const runner = new ProjectionRunner(
        projection,
        this.store,
        await this.sessionDataSource(),
        this.progress,
        { batchSize: 1000, ...this.options.runner },
        {
          onBatch: (batch) => {
            eventsRead += batch.eventsRead;
            eventsApplied += batch.eventsApplied;
            report();
          },
        },
      );
      await runner.catchUp(head, signal, { fromStart: true });
      return {
        name,
        eventsRead,
        eventsApplied,
        durationMs: performance.now() - started,
        mode: 'local',
      };
    }

    await this.resetUnderRowLock(projection);
    for (;;) {
      const checkpoint = (await readCheckpoints(this.dataSource, [name])).get(name);
      eventsRead = Number(checkpoint?.eventsProcessed ?? 0n);
      report();
      const position = checkpoint?.position ?? null;
      if (head === null || (position !== null && comparePositions(position, head) >= 0)) break;
      if (signal.aborted) throw new Error('rebuild interrupted');
      await delay(250, signal);
    }
    return {
      name,
      eventsRead,
      eventsApplied: eventsRead,
      durationMs: performance.now() - started,
      mode: 'followed',
    };
  }

  /**
   * Creates the checkpoint table and every read model's tables before the runners start, so
   * queries find them even while another process holds the runners' locks. Version resets stay
   * with the runner that owns the lock.
   */
  async ensureTables(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        SCHEMA_LOCK_KEY,
      ]);
      await ensureCheckpointTable(manager);
      for (const projection of this.byName.values()) await projection.setup(manager);
    });
  }

  private async resetUnderRowLock(projection: Projection): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        SCHEMA_LOCK_KEY,
      ]);
      await ensureCheckpointTable(manager);
      await projection.setup(manager);
      await insertCheckpointIfAbsent(manager, projection.name, projection.version);
      await lockCheckpoint(manager, projection.name);
      await projection.reset(manager);
      await restartCheckpoint(manager, projection.name, projection.version);
    });
  }

  private async statusOf(
    name: string,
    checkpoint: StoredCheckpoint | undefined,
  ): Promise<ProjectionStatusName> {
    const runner = this.runners.get(name);
    if (runner && runner.state !== 'idle') return runner.state;
    if (checkpoint?.lastError) return 'error';
    return (await isRunnerLockHeld(this.dataSource, name)) ? 'running_elsewhere' : 'stopped';
  }

  /** Counts events after `from` up to `head`, reading the log; stops at the configured limit. */
  private async countLag(from: Position | null, head: Position | null): Promise<ProjectionLag> {
    if (head === null || (from !== null && comparePositions(from, head) >= 0))
      return { events: 0, exact: true };
    const limit = this.options.lagCountLimit ?? 10_000;
    let after = from;
    let events = 0;
    while (events < limit) {
      const batch = await this.store.readAll({ after, maxCount: Math.min(1000, limit - events) });
      if (batch.length === 0) return { events, exact: true };
      for (const event of batch) {
        if (comparePositions(event.position, head) > 0) return { events, exact: true };
        events++;
      }
      after = batch[batch.length - 1].position;
      if (comparePositions(after, head) >= 0) return { events, exact: true };
    }
    return { events, exact: false };
  }

  /** The rebuild's progress-bar total: exact on PostgreSQL when the log shares the database. */
  private async countEventsUpTo(head: Position | null): Promise<number | null> {
    if (head === null) return 0;
    if (this.store.kind !== 'postgres') return null;
    try {
      const rows = await queryRows<{ total: string }>(
        this.dataSource,
        `SELECT count(*)::text AS total FROM events
          WHERE (transaction_id, global_position) <= ($1::text::xid8, $2::bigint)`,
        [head.commit.toString(), head.prepare.toString()],
      );
      return rows[0] ? Number(rows[0].total) : null;
    } catch {
      return null;
    }
  }

  private async sessionDataSource(): Promise<DataSource> {
    if (this.options.dedicatedPool === false) return this.dataSource;
    if (this.runnerDataSource) return this.runnerDataSource;
    const base = this.dataSource.options;
    if (base.type !== 'postgres') return this.dataSource;
    const options: DataSourceOptions = {
      ...base,
      // Its own pg Pool (not the application's, which `driver` may point at).
      driver: undefined,
      // A lock session per runner (a rebuild's runner takes one too).
      poolSize: this.byName.size + 1,
      applicationName: 'nimbus-projection-locks',
    };
    const own = new DataSource(options);
    await own.initialize();
    this.runnerDataSource = own;
    return own;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
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
