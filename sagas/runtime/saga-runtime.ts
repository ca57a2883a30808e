import { EventEmitter, setMaxListeners } from 'node:events';
import type { Pool, PoolClient } from 'pg';
import { newId, uuidV5 } from '../../src/common/ids';
import type {
  EventMetadata,
  EventStore,
  NewEvent,
  RecordedEvent,
} from '../../src/eventstore/event-store';
import { comparePositions, type Position } from '../../src/kernel/position';
import { WrongExpectedRevisionError } from '../../src/eventstore/errors';
import { SagaWait, sagaStreamId, type SagaDefinition, type StepContext } from './definition';
import {
  desiredTimers,
  nextAction,
  onAttemptFailed,
  onAttemptSucceeded,
  onAttemptWaiting,
  type AttemptFailure,
} from './saga-decider';
import {
  evolveSaga,
  foldSaga,
  SAGA_EVENT_TYPES,
  TERMINAL_STATUSES,
  type InFlightAttempt,
  type SagaEvent,
  type SagaState,
} from './saga-state';
import { SagaTables, type TimerRow } from './saga-tables';
import { Clock as PlatformClock } from '../../src/platform/clock';

/** What the runtime reads the time from: the application's Clock (SagasModule injects it). */
export type Clock = Pick<PlatformClock, 'now'>;

export interface SagaLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const silentLogger: SagaLogger = { info: () => {}, warn: () => {}, error: () => {} };

export interface RecordedSagaEvents {
  sagaName: string;
  sagaId: string;
  events: readonly SagaEvent[];
  state: SagaState;
}

export interface SagaRuntimeOptions {
  store: EventStore;
  pool: Pool;
  sagas: readonly SagaDefinition[];
  clock?: Clock;
  /**
   * `auto` (default): a loop fires persisted timers when they fall due. `manual`: only
   * `runDueTimers()` does, for tests that move an injected clock.
   */
  timers?: 'auto' | 'manual';
  /** Longest the timer loop sleeps before looking for timers other processes wrote. */
  timerPollMs?: number;
  /** How far a due timer is pushed back when its instance is driven elsewhere. */
  busyRetryMs?: number;
  /**
   * How old a starting event (`startedBy`) may be and still start its instance (default 24 h):
   * one a crashed request left is minutes old, while a history older than its saga (imported,
   * or written before the saga named its starting event) is not provisioned again.
   */
  startHorizonMs?: number;
  /** Consume `$all` for the sagas' triggers (default true). */
  subscribe?: boolean;
  logger?: SagaLogger;
  /** Called (and awaited) after every append to a saga stream; for logs, metrics and tests. */
  onRecorded?: (recorded: RecordedSagaEvents) => void | Promise<void>;
}

export interface StartSagaOptions {
  tenantId?: string | null;
  correlationId?: string;
  /** The event or command that caused the start. */
  causationId?: string | null;
  requestId?: string | null;
}

export interface StartSagaResult {
  streamId: string;
  /**
   * True when this call, or an identical earlier one (a retried command), started the instance;
   * false when something else (an event trigger) had started it already.
   */
  started: boolean;
}

export interface SagaSnapshot {
  state: SagaState;
  revision: bigint;
  events: RecordedEvent[];
}

type DriveResult = 'driven' | 'busy';

type AttemptOutcome =
  | { kind: 'succeeded'; result: unknown }
  | { kind: 'failed'; failure: AttemptFailure }
  /** The step asked to run again at `until` or on a new input (SagaWait). */
  | { kind: 'waiting'; until: string; inputsSeen: number }
  /** The runtime stopped or lost its lock: record nothing, another driver takes over. */
  | { kind: 'abandoned' };

interface Drive {
  promise: Promise<DriveResult>;
  again: boolean;
}

const SYSTEM_SAGA_ACTOR = (sagaName: string) => ({
  type: 'system' as const,
  id: `saga:${sagaName}`,
});
const CHECKPOINT_EVERY_SKIPPED = 500;
const DEFAULT_START_HORIZON_MS = 24 * 3_600_000;

/**
 * Runs saga instances durably.
 *
 * Each instance is driven by at most one runtime at a time: the driver holds a PostgreSQL
 * session advisory lock on the instance, taken on one dedicated connection of the pool (if that
 * connection dies every lock dies with it and this runtime abandons its drives), and every append
 * carries the revision it read. The loop: fold the stream, ask `nextAction`, persist the timers
 * the next state needs, append the decision, then act (run the attempt it started). A crash at
 * any point leaves a stream from which the next driver resumes: an attempt started without an
 * outcome is recorded as interrupted and run again.
 */
export class SagaRuntime {
  private readonly store: EventStore;
  private readonly tables: SagaTables;
  private readonly pool: Pool;
  private readonly sagas = new Map<string, SagaDefinition>();
  private readonly clock: Clock;
  private readonly log: SagaLogger;
  private readonly options: SagaRuntimeOptions;
  private readonly drives = new Map<string, Drive>();
  private readonly events = new EventEmitter();
  private lockClient: PoolClient | undefined;
  private lockClientConnecting: Promise<PoolClient> | undefined;
  private lockQueue: Promise<void> = Promise.resolve();
  /** Aborted when the runtime stops or loses its lock connection. */
  private lifetime = newLifetime();
  private running = false;
  private loops: Array<Promise<void>> = [];
  private schemaReady = false;

  constructor(options: SagaRuntimeOptions) {
    this.options = options;
    this.store = options.store;
    this.pool = options.pool;
    this.tables = new SagaTables(options.pool);
    this.clock = options.clock ?? new PlatformClock();
    this.log = options.logger ?? silentLogger;
    for (const saga of options.sagas) this.register(saga);
    this.events.setMaxListeners(0);
  }

  /**
   * Adds a saga before the runtime starts (a context registers its sagas, built with their ports,
   * through dependency injection: see `provideSaga` in sagas.module.ts).
   */
  register(saga: SagaDefinition): void {
    if (this.running) throw new Error(`saga ${saga.name} registered after the runtime started`);
    if (this.sagas.has(saga.name)) throw new Error(`saga ${saga.name} is registered twice`);
    this.sagas.set(saga.name, saga);
  }

  get sagaNames(): string[] {
    return [...this.sagas.keys()];
  }

  /** Creates the runtime's tables; safe to call more than once and from several processes. */
  async init(): Promise<void> {
    if (this.schemaReady) return;
    await this.tables.ensureSchema();
    this.schemaReady = true;
  }

  /** Resumes every unfinished instance, then follows `$all` and the timers until `stop`. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.init();
    this.running = true;
    this.lifetime = newLifetime();
    if (this.sagas.size === 0) return;
    const unfinished = await this.tables.unfinishedInstances(this.sagaNames);
    if (unfinished.length > 0)
      this.log.info('resuming unfinished sagas', { count: unfinished.length });
    for (const { saga, instanceId } of unfinished) void this.kick(saga, instanceId);
    if ((this.options.subscribe ?? true) && [...this.sagas.values()].some(followsAll)) {
      this.loops.push(this.followAll());
    }
    if ((this.options.timers ?? 'auto') === 'auto') this.loops.push(this.timerLoop());
  }

  /** Stops following `$all` and the timers; attempts in flight are aborted and left unrecorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.lifetime.abort();
    this.events.emit('wake');
    await Promise.allSettled(this.loops);
    this.loops = [];
    await Promise.allSettled([...this.drives.values()].map((d) => d.promise));
    const client = this.lockClient;
    this.lockClient = undefined;
    client?.release(true);
  }

  /**
   * Starts an instance from a command handler. Idempotent: the SagaStarted event id derives from
   * the saga name and instance id, so a repeated call (a retried command) starts nothing new.
   */
  async startSaga<TInput>(
    saga: SagaDefinition<TInput> | string,
    sagaId: string,
    input: TInput,
    options: StartSagaOptions = {},
  ): Promise<StartSagaResult> {
    const definition = this.definition(typeof saga === 'string' ? saga : saga.name);
    await this.init();
    const streamId = sagaStreamId(definition.name, sagaId);
    const correlationId = options.correlationId ?? newId();
    const started: SagaEvent = {
      type: 'SagaStarted',
      data: {
        sagaName: definition.name,
        sagaId,
        input,
        tenantId: options.tenantId ?? null,
        correlationId,
        trigger: null,
      },
    };
    await this.tables.registerInstance(definition.name, sagaId);
    try {
      await this.store.append(
        streamId,
        [
          this.toNewEvent(definition.name, started, uuidV5(`${definition.name}/start/${sagaId}`), {
            tenantId: options.tenantId ?? null,
            correlationId,
            causationId: options.causationId ?? null,
            requestId: options.requestId ?? null,
          }),
        ],
        'no_stream',
      );
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      return { streamId, started: false };
    }
    void this.kick(definition.name, sagaId);
    return { streamId, started: true };
  }

  /**
   * Records an event from `$all` in the instance it concerns, before anything acts on it. The
   * event id derives from the saga name and the input's id, so a redelivered input is a no-op.
   */
  async recordInput(saga: SagaDefinition, event: RecordedEvent): Promise<string | null> {
    const starter = saga.startedBy[event.type];
    const trigger = starter ?? saga.triggers[event.type];
    if (!trigger) return null;
    if (starter && this.pastStartHorizon(event)) return null;
    let target: ReturnType<typeof trigger>;
    try {
      target = trigger(event);
    } catch (err) {
      throw new TriggerError(err);
    }
    if (!target) return null;
    const streamId = sagaStreamId(saga.name, target.sagaId);
    const eventId = uuidV5(`${saga.name}/${event.id}`);
    const meta = {
      tenantId: event.metadata.tenantId,
      correlationId: event.metadata.correlationId,
      causationId: event.id,
      requestId: event.metadata.requestId,
    };
    await this.tables.registerInstance(saga.name, target.sagaId);
    const started: SagaEvent = {
      type: 'SagaStarted',
      data: {
        sagaName: saga.name,
        sagaId: target.sagaId,
        input: target.input,
        tenantId: event.metadata.tenantId,
        correlationId: event.metadata.correlationId,
        trigger: { eventId: event.id, type: event.type },
      },
    };
    try {
      await this.store.append(
        streamId,
        [this.toNewEvent(saga.name, started, eventId, meta)],
        'no_stream',
      );
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      // Started already, by the request that appended this event: nothing to feed.
      if (starter) return null;
      const fed: SagaEvent = {
        type: 'SagaInputReceived',
        data: { eventId: event.id, type: event.type, data: event.data },
      };
      await this.store.append(streamId, [this.toNewEvent(saga.name, fed, eventId, meta)], 'any');
    }
    return target.sagaId;
  }

  private pastStartHorizon(event: RecordedEvent): boolean {
    const occurred = Date.parse(event.metadata.occurredAt);
    const horizon = this.options.startHorizonMs ?? DEFAULT_START_HORIZON_MS;
    return !Number.isNaN(occurred) && this.clock.now().getTime() - occurred > horizon;
  }

  /** The instance as its stream tells it. */
  async inspect(sagaName: string, sagaId: string): Promise<SagaSnapshot> {
    this.definition(sagaName);
    const events = await this.store.readStream(sagaStreamId(sagaName, sagaId));
    const sagaEvents = events.filter((e) => SAGA_EVENT_TYPES.has(e.type));
    return {
      state: foldSaga(sagaEvents.map(toSagaEvent)),
      revision: events.length > 0 ? events[events.length - 1].revision : -1n,
      events,
    };
  }

  /**
   * Resolves with the instance's state once this runtime records a terminal event for it (or at
   * once if it is already finished). For tests and for callers that want to await an outcome.
   */
  async whenSettled(sagaName: string, sagaId: string, timeoutMs = 30_000): Promise<SagaState> {
    const streamId = sagaStreamId(sagaName, sagaId);
    return new Promise<SagaState>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`saga ${streamId} did not settle within ${timeoutMs} ms`));
      }, timeoutMs);
      const onRecorded = (recorded: RecordedSagaEvents): void => {
        if (recorded.sagaName !== sagaName || recorded.sagaId !== sagaId) return;
        if (!TERMINAL_STATUSES.has(recorded.state.status)) return;
        cleanup();
        resolve(recorded.state);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('recorded', onRecorded);
      };
      this.events.on('recorded', onRecorded);
      this.inspect(sagaName, sagaId).then(
        ({ state }) => {
          if (!TERMINAL_STATUSES.has(state.status)) return;
          cleanup();
          resolve(state);
        },
        (err: unknown) => {
          cleanup();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /**
   * Fires the persisted timers that are due by the clock: drives their instances and waits for
   * those drives. The timer loop calls it; tests with a manual clock call it directly.
   */
  async runDueTimers(limit = 100): Promise<number> {
    if (this.sagas.size === 0) return 0;
    const now = this.clock.now();
    const due = await this.tables.dueTimers(this.sagaNames, now, limit);
    const instances = new Map<string, TimerRow>();
    for (const row of due) instances.set(`${row.saga}\u0000${row.instanceId}`, row);
    await Promise.all(
      [...instances.values()].map(async (row) => {
        const streamId = sagaStreamId(row.saga, row.instanceId);
        // Driven here already: that driver enforces the deadline of its attempt itself, and
        // drives the instance once more when it ends (the timer may be a retry falling due).
        const local = this.drives.get(streamId);
        if (local) local.again = true;
        const result = local ? 'busy' : await this.kick(row.saga, row.instanceId);
        if (result === 'busy' || (await this.hasDueTimers(row, now))) {
          const later = new Date(now.getTime() + (this.options.busyRetryMs ?? 2000));
          await this.tables.postponeDue(row.saga, row.instanceId, now, later);
        }
      }),
    );
    return instances.size;
  }

  /** Drives the instance now unless it is being driven; resolves when this drive ends. */
  kick(sagaName: string, sagaId: string): Promise<DriveResult> {
    const streamId = sagaStreamId(sagaName, sagaId);
    const existing = this.drives.get(streamId);
    if (existing) {
      existing.again = true;
      return existing.promise;
    }
    const definition = this.definition(sagaName);
    const drive: Drive = { again: false, promise: Promise.resolve<DriveResult>('driven') };
    drive.promise = (async (): Promise<DriveResult> => {
      let result: DriveResult;
      do {
        drive.again = false;
        try {
          result = await this.drive(definition, sagaId);
        } catch (err) {
          this.log.error('saga drive failed', { saga: sagaName, sagaId, error: errorMessage(err) });
          if (this.running) {
            const later = new Date(this.clock.now().getTime() + (this.options.busyRetryMs ?? 2000));
            await this.tables.scheduleRecovery(sagaName, sagaId, later).catch(() => undefined);
          }
          return 'driven';
        }
      } while (drive.again && this.running);
      if (result === 'busy' && this.running) {
        // Another process drives it; if that process dies between two steps, no deadline timer
        // exists, so leave a wake-up that retries the lock later.
        const later = new Date(this.clock.now().getTime() + (this.options.busyRetryMs ?? 2000));
        await this.tables.scheduleRecovery(sagaName, sagaId, later).catch(() => undefined);
      }
      return result;
    })().finally(() => this.drives.delete(streamId));
    this.drives.set(streamId, drive);
    return drive.promise;
  }

  /** Resolves when no drive is in progress in this runtime. */
  async idle(): Promise<void> {
    while (this.drives.size > 0)
      await Promise.allSettled([...this.drives.values()].map((d) => d.promise));
  }

  private async hasDueTimers(row: TimerRow, now: Date): Promise<boolean> {
    const timers = await this.tables.timersOf(row.saga, row.instanceId);
    return timers.some((t) => t.dueAt.getTime() <= now.getTime());
  }

  private definition(name: string): SagaDefinition {
    const saga = this.sagas.get(name);
    if (!saga) throw new Error(`no saga named ${name} is registered`);
    return saga;
  }

  // ---- driving one instance --------------------------------------------------------------------

  private async drive(saga: SagaDefinition, sagaId: string): Promise<DriveResult> {
    const streamId = sagaStreamId(saga.name, sagaId);
    const lock = await this.tryLock(streamId);
    if (!lock) return 'busy';
    try {
      let { state, revision } = await this.load(saga.name, sagaId);
      await this.tables.setStatus(saga.name, sagaId, indexStatus(state));
      for (;;) {
        if (lock.signal.aborted) return 'driven';
        const action = nextAction(saga.plan, state, this.clock.now());
        if (action.kind === 'done' || action.kind === 'wait') {
          await this.syncTimers(saga.name, sagaId, state);
          await this.tables.setStatus(saga.name, sagaId, indexStatus(state));
          return 'driven';
        }
        const appended = await this.record(saga.name, sagaId, state, revision, action.events);
        if (!appended) {
          ({ state, revision } = await this.load(saga.name, sagaId));
          continue;
        }
        ({ state, revision } = appended);
        if (action.kind === 'record') continue;

        const outcome = await this.runAttempt(saga, sagaId, state, action.attempt, lock.signal);
        if (outcome.kind === 'abandoned') return 'driven';
        // Record the outcome; if something else was appended meanwhile (an input), decide it
        // again on the fresh state, as long as the attempt is still the one in flight.
        for (;;) {
          const events =
            outcome.kind === 'succeeded'
              ? onAttemptSucceeded(action.attempt, outcome.result)
              : outcome.kind === 'waiting'
                ? onAttemptWaiting(action.attempt, outcome.until, outcome.inputsSeen)
                : onAttemptFailed(
                    saga.plan,
                    state,
                    action.attempt,
                    outcome.failure,
                    this.clock.now(),
                  );
          const done = await this.record(saga.name, sagaId, state, revision, events);
          if (done) {
            ({ state, revision } = done);
            break;
          }
          ({ state, revision } = await this.load(saga.name, sagaId));
          if (!sameAttempt(state.inFlight, action.attempt)) break;
        }
      }
    } finally {
      await this.unlock(streamId, lock);
    }
  }

  /**
   * Persists the timers the new state needs, appends the events with the expected revision,
   * then deletes the timers no longer needed. Returns null when another writer appended first.
   */
  private async record(
    sagaName: string,
    sagaId: string,
    state: SagaState,
    revision: bigint,
    events: SagaEvent[],
  ): Promise<{ state: SagaState; revision: bigint } | null> {
    const next = events.reduce(evolveSaga, state);
    // Timers first: a crash after the append can never leave a due retry without its wake-up.
    await this.tables.upsertTimers(sagaName, sagaId, desiredTimers(next));
    const meta = {
      tenantId: state.tenantId,
      correlationId: state.correlationId || newId(),
      causationId: null,
      requestId: null,
    };
    let nextRevision: bigint;
    try {
      const result = await this.store.append(
        sagaStreamId(sagaName, sagaId),
        events.map((e) => this.toNewEvent(sagaName, e, newId(), meta)),
        revision < 0n ? 'no_stream' : revision,
      );
      nextRevision = result.nextExpectedRevision;
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError) return null;
      throw err;
    }
    await this.syncTimers(sagaName, sagaId, next);
    if (next.status !== state.status)
      await this.tables.setStatus(sagaName, sagaId, indexStatus(next));
    const recorded: RecordedSagaEvents = { sagaName, sagaId, events, state: next };
    this.events.emit('recorded', recorded);
    await this.options.onRecorded?.(recorded);
    return { state: next, revision: nextRevision };
  }

  private async syncTimers(sagaName: string, sagaId: string, state: SagaState): Promise<void> {
    const timers = desiredTimers(state);
    await this.tables.upsertTimers(sagaName, sagaId, timers);
    await this.tables.deleteTimersExcept(
      sagaName,
      sagaId,
      timers.map((t) => t.key),
    );
  }

  private async load(
    sagaName: string,
    sagaId: string,
  ): Promise<{ state: SagaState; revision: bigint }> {
    const { state, revision } = await this.inspect(sagaName, sagaId);
    return { state, revision };
  }

  private async runAttempt(
    saga: SagaDefinition,
    sagaId: string,
    state: SagaState,
    attempt: InFlightAttempt,
    lifetime: AbortSignal,
  ): Promise<AttemptOutcome> {
    const step = saga.steps.find((s) => s.name === attempt.step);
    if (!step) throw new Error(`saga ${saga.name} has no step ${attempt.step}`);
    const controller = new AbortController();
    let timedOut = false;
    const untilDeadline = Math.max(0, Date.parse(attempt.deadline) - this.clock.now().getTime());
    // Enforces the persisted deadline while this process lives; the saga_timers row covers the
    // case where it does not.
    const deadlineTimer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('the step ran past its timeout'));
    }, untilDeadline);
    const onStop = (): void => controller.abort(new Error('the saga runtime stopped'));
    lifetime.addEventListener('abort', onStop, { once: true });
    const ctx: StepContext<unknown, Record<string, unknown>> = {
      sagaName: saga.name,
      sagaId,
      input: state.input,
      results: { ...state.results },
      attempt: attempt.attempt,
      signal: controller.signal,
      tenantId: state.tenantId,
      correlationId: state.correlationId,
      inputs: state.inputs,
    };
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new AbortedAttempt()), {
        once: true,
      });
    });
    aborted.catch(() => undefined);
    try {
      let result: unknown;
      if (attempt.phase === 'execute') {
        result = await Promise.race([step.execute(ctx), aborted]);
      } else if (step.compensate) {
        await Promise.race([
          step.compensate({ ...ctx, result: state.results[step.name] ?? null }),
          aborted,
        ]);
      }
      if (lifetime.aborted) return { kind: 'abandoned' };
      return { kind: 'succeeded', result: toJson(result) };
    } catch (err) {
      if (lifetime.aborted) return { kind: 'abandoned' };
      if (err instanceof SagaWait && attempt.phase === 'execute') {
        return { kind: 'waiting', until: err.until, inputsSeen: state.inputs.length };
      }
      if (timedOut) {
        return {
          kind: 'failed',
          failure: { error: 'the step ran past its timeout', reason: 'timeout', permanent: false },
        };
      }
      return {
        kind: 'failed',
        failure: { error: errorMessage(err), reason: 'error', permanent: saga.isPermanent(err) },
      };
    } finally {
      clearTimeout(deadlineTimer);
      lifetime.removeEventListener('abort', onStop);
    }
  }

  private toNewEvent(
    sagaName: string,
    event: SagaEvent,
    id: string,
    meta: Pick<EventMetadata, 'tenantId' | 'correlationId' | 'causationId' | 'requestId'>,
  ): NewEvent {
    return {
      id,
      type: event.type,
      data: event.data,
      metadata: {
        ...meta,
        actor: SYSTEM_SAGA_ACTOR(sagaName),
        sourceIp: null,
        occurredAt: this.clock.now().toISOString(),
        schemaVersion: 1,
      },
    };
  }

  // ---- one driver per instance -----------------------------------------------------------------

  private async tryLock(streamId: string): Promise<{ signal: AbortSignal } | null> {
    if (!this.running) return null;
    const client = await this.lockConnection();
    const signal = this.lifetime.signal;
    const res = await this.onLockConnection(() =>
      client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [`nimbus:saga:${streamId}`],
      ),
    );
    return res.rows[0]?.locked ? { signal } : null;
  }

  private async unlock(streamId: string, lock: { signal: AbortSignal }): Promise<void> {
    const client = this.lockClient;
    if (!client || lock.signal.aborted) return;
    await this.onLockConnection(() =>
      client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [
        `nimbus:saga:${streamId}`,
      ]),
    ).catch(() => undefined);
  }

  /** One query at a time on the lock connection (pg will stop queueing them itself). */
  private onLockConnection<T>(query: () => Promise<T>): Promise<T> {
    const result = this.lockQueue.then(query, query);
    this.lockQueue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async lockConnection(): Promise<PoolClient> {
    if (this.lockClient) return this.lockClient;
    this.lockClientConnecting ??= (async () => {
      const client = await this.pool.connect();
      client.on('error', (err) => {
        if (this.lockClient !== client) return;
        this.log.error('saga lock connection lost; abandoning drives', { error: err.message });
        this.lockClient = undefined;
        client.release(err);
        // Every lock held on that connection is gone: stop every drive that relied on one.
        const lost = this.lifetime;
        this.lifetime = newLifetime();
        lost.abort();
      });
      this.lockClient = client;
      return client;
    })().finally(() => {
      this.lockClientConnecting = undefined;
    });
    return this.lockClientConnecting;
  }

  // ---- inputs from $all -------------------------------------------------------------------------

  /**
   * One reader of `$all` for every saga with triggers or starting events: each event goes to each
   * saga whose checkpoint is behind it, and each saga's checkpoint moves on its own (a saga added
   * later starts from the beginning of the log without holding the others back).
   */
  private async followAll(): Promise<void> {
    const sagas = [...this.sagas.values()].filter(followsAll);
    let failures = 0;
    while (this.running) {
      const signal = this.lifetime.signal;
      try {
        const checkpoints = new Map<string, Position | null>();
        for (const saga of sagas) {
          checkpoints.set(saga.name, await this.tables.loadCheckpoint(saga.name));
        }
        const after = earliest([...checkpoints.values()]);
        let skipped = 0;
        for await (const event of this.store.subscribeToAll({ after, signal })) {
          for (const saga of sagas) {
            const checkpoint = checkpoints.get(saga.name) ?? null;
            if (checkpoint !== null && comparePositions(event.position, checkpoint) <= 0) continue;
            let sagaId: string | null = null;
            try {
              sagaId = await this.recordInput(saga, event);
            } catch (err) {
              if (!isTriggerError(err)) throw err;
              this.log.error('saga trigger threw; input skipped', {
                saga: saga.name,
                eventId: event.id,
                error: errorMessage(err.thrown),
              });
            }
            checkpoints.set(saga.name, event.position);
            if (sagaId !== null) {
              await this.tables.saveCheckpoint(saga.name, event.position);
              void this.kick(saga.name, sagaId);
            }
          }
          if (++skipped >= CHECKPOINT_EVERY_SKIPPED) {
            for (const saga of sagas) {
              await this.tables.saveCheckpoint(saga.name, event.position);
            }
            skipped = 0;
          }
          failures = 0;
        }
      } catch (err) {
        if (!this.running) return;
        failures += 1;
        this.log.error('saga subscription failed; resuming from its checkpoints', {
          error: errorMessage(err),
        });
        await this.pause(Math.min(30_000, 100 * 2 ** Math.min(failures, 8)));
      }
    }
  }

  // ---- timers -----------------------------------------------------------------------------------

  private async timerLoop(): Promise<void> {
    const pollMs = this.options.timerPollMs ?? 1000;
    while (this.running) {
      try {
        await this.runDueTimers();
        const next = await this.tables.nextDueAt(this.sagaNames);
        const wait = next ? next.getTime() - this.clock.now().getTime() : pollMs;
        await this.pause(Math.max(0, Math.min(pollMs, wait)));
      } catch (err) {
        if (!this.running) return;
        this.log.error('saga timer loop failed', { error: errorMessage(err) });
        await this.pause(pollMs);
      }
    }
  }

  /** Sleeps up to `ms`, waking early when the runtime stops or persists a new timer. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.events.off('wake', done);
        this.events.off('recorded', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.once('wake', done);
      this.events.once('recorded', done);
    });
  }
}

class AbortedAttempt extends Error {}

/** Every attempt in flight and every subscription listens to it: no listener limit. */
function newLifetime(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

class TriggerError extends Error {
  constructor(readonly thrown: unknown) {
    super('saga trigger threw');
  }
}

function isTriggerError(err: unknown): err is TriggerError {
  return err instanceof TriggerError;
}

function toSagaEvent(event: RecordedEvent): SagaEvent {
  return { type: event.type, data: event.data } as SagaEvent;
}

function sameAttempt(a: InFlightAttempt | null, b: InFlightAttempt): boolean {
  return !!a && a.phase === b.phase && a.step === b.step && a.attempt === b.attempt;
}

function indexStatus(state: SagaState): SagaState['status'] | 'pending' {
  return state.status === 'not_started' ? 'pending' : state.status;
}

function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function followsAll(saga: SagaDefinition): boolean {
  return Object.keys(saga.triggers).length > 0 || Object.keys(saga.startedBy).length > 0;
}

/** The earliest of the checkpoints; null (the beginning of the log) when any saga has none. */
function earliest(checkpoints: ReadonlyArray<Position | null>): Position | null {
  let first: Position | null = null;
  for (const checkpoint of checkpoints) {
    if (checkpoint === null) return null;
    if (first === null || comparePositions(checkpoint, first) < 0) first = checkpoint;
  }
  return first;
}
