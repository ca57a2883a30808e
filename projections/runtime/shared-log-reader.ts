import {
  type EventStore,
  type ReadAllOptions,
  type RecordedEvent,
} from '../../src/eventstore/event-store';
import { comparePositions, type Position } from '../../src/kernel/position';

/** What a projection runner needs of the log. */
export type LogReader = Pick<EventStore, 'readAll' | 'waitForAppends'>;

/**
 * One read of `$all` shared by every runner of a process. Without it each of a dozen runners
 * issued its own query for every new event. The reader keeps a window of the newest events, a
 * contiguous segment of the log (everything after `segmentStart` up to the newest cached
 * event), so that a runner whose position lies in the window is served from memory and only
 * the first runner to reach the window's end reads further; concurrent reads of that same
 * range share one query. A runner behind the window (a rebuild) reads the store directly.
 */
export class SharedLogReader implements LogReader {
  private window: RecordedEvent[] = [];
  /** Exclusive start of the window: the window holds exactly the log after this position. */
  private segmentStart: Position | null | undefined = undefined;
  private inFlight: Promise<void> | null = null;
  /** The one wait for appends past the window's end that runners there share. */
  private headWait: Promise<void> | null = null;
  /** Bumped when the window is replaced, so that a read begun for the old one is dropped. */
  private generation = 0;

  constructor(
    private readonly store: LogReader,
    private readonly capacity = 20_000,
    private readonly fetchSize = 1_000,
  ) {}

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const after = options.after ?? null;
    for (let extended = false; ; extended = true) {
      if (!this.covers(after)) {
        if (this.isBeforeWindow(after)) return this.store.readAll(options);
        // Ahead of the window, or nothing cached yet: start a new window here.
        this.reset(after);
      }
      const served = this.serve(after, options.maxCount);
      if (served.length > 0 || extended) return served;
      // Coverage is checked again after the read: the window may have been replaced or trimmed.
      await this.extend();
    }
  }

  /**
   * Runners at the window's end share one wait on the store (one timer, one wake-up, then one
   * read that serves them all); a runner with events still ahead of it in the window does not
   * wait at all, and one elsewhere waits on the store by itself.
   */
  waitForAppends(timeoutMs: number, signal?: AbortSignal, after?: Position | null): Promise<void> {
    const position = after ?? null;
    if (!this.covers(position)) return this.store.waitForAppends(timeoutMs, signal, after);
    if (this.firstIndexAfter(position) < this.window.length) return Promise.resolve();
    if (!this.headWait) {
      const wait: Promise<void> = this.store
        .waitForAppends(timeoutMs, undefined, this.end())
        .finally(() => {
          if (this.headWait === wait) this.headWait = null;
        });
      this.headWait = wait;
    }
    return untilFirst(this.headWait, timeoutMs, signal);
  }

  /** True when `after` lies within the window (from its exclusive start to its last event). */
  private covers(after: Position | null): boolean {
    if (this.segmentStart === undefined) return false;
    return atOrAfter(after, this.segmentStart) && atOrBefore(after, this.end());
  }

  private isBeforeWindow(after: Position | null): boolean {
    return this.segmentStart !== undefined && !atOrAfter(after, this.segmentStart);
  }

  private end(): Position | null {
    return this.window.length > 0
      ? this.window[this.window.length - 1].position
      : (this.segmentStart ?? null);
  }

  private serve(after: Position | null, maxCount: number): RecordedEvent[] {
    const from = this.firstIndexAfter(after);
    return this.window.slice(from, from + maxCount);
  }

  private firstIndexAfter(after: Position | null): number {
    if (after === null) return 0;
    let lo = 0;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePositions(this.window[mid].position, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private reset(after: Position | null): void {
    this.generation++;
    this.window = [];
    this.segmentStart = after;
    this.inFlight = null;
  }

  /** Reads what follows the window's end; concurrent callers wait for the same read. */
  private extend(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const generation = this.generation;
    const from = this.end();
    const read: Promise<void> = this.store
      .readAll({ after: from, maxCount: this.fetchSize })
      .then((batch) => {
        if (generation !== this.generation) return;
        this.window.push(...batch);
        const excess = this.window.length - this.capacity;
        if (excess > 0) {
          this.segmentStart = this.window[excess - 1].position;
          this.window = this.window.slice(excess);
        }
      })
      .finally(() => {
        if (this.inFlight === read) this.inFlight = null;
      });
    this.inFlight = read;
    return read;
  }
}

/** Resolves with `promise`, after `timeoutMs`, or on abort, whichever comes first. */
function untilFirst(
  promise: Promise<void>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

function atOrAfter(p: Position | null, q: Position | null): boolean {
  if (q === null) return true;
  if (p === null) return false;
  return comparePositions(p, q) >= 0;
}

/** `null` is the start of the log, before every position. */
function atOrBefore(p: Position | null, q: Position | null): boolean {
  if (p === null) return true;
  if (q === null) return false;
  return comparePositions(p, q) <= 0;
}
