import { comparePositions, type Position } from '../../src/kernel/position';
import type { ReadYourWrites, Written } from '../../src/platform/commands/use-case';
import { readCheckpoints, type SqlRunner } from './checkpoints';
import type { ProjectionRuntime } from './projection-runtime';

export interface ProjectionWaiterOptions {
  /** Bound of `reached`, the read-your-writes wait of every use case (NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS). */
  readYourWritesTimeoutMs?: number;
  /** How often checkpoints of projections run by other processes are read while someone waits. */
  pollIntervalMs?: number;
}

interface PendingWait {
  target: Position;
  remaining: Set<string>;
  finish: (caughtUp: boolean) => void;
}

/**
 * Read-your-writes: resolves when the named projections have applied everything up to a
 * command's position. Projections run by this process wake waiters as soon as they commit
 * (no polling); checkpoints of projections run elsewhere are read from `projection_checkpoints`
 * every `pollIntervalMs`, and only while someone waits for them.
 */
export class ProjectionWaiter implements ReadYourWrites {
  readonly readYourWritesTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly pending = new Set<PendingWait>();
  private unsubscribe: (() => void) | undefined;
  private polling = false;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Positions read from the table, for projections not run (or not yet running) here. */
  private readonly polled = new Map<string, Position | null>();
  private readonly versions: Map<string, number>;

  constructor(
    private readonly runtime: ProjectionRuntime,
    private readonly checkpoints: SqlRunner,
    options: ProjectionWaiterOptions = {},
  ) {
    this.readYourWritesTimeoutMs = options.readYourWritesTimeoutMs ?? 2000;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.versions = new Map(runtime.projections.map((p) => [p.name, p.version]));
  }

  /**
   * True as soon as every named projection's checkpoint is at or past `position`; false when
   * `timeoutMs` passes first. Throws for a projection name the runtime does not know.
   */
  waitFor(
    position: Position,
    projectionNames: readonly string[],
    timeoutMs: number,
  ): Promise<boolean> {
    const unknown = projectionNames.filter((n) => !this.versions.has(n));
    if (unknown.length > 0)
      return Promise.reject(new Error(`unknown projection(s): ${unknown.join(', ')}`));
    const remaining = new Set(projectionNames.filter((n) => !this.reachedLocally(n, position)));
    if (remaining.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wait: PendingWait = {
        target: position,
        remaining,
        finish: (caughtUp) => {
          clearTimeout(timer);
          this.pending.delete(wait);
          if (this.pending.size === 0) this.idle();
          resolve(caughtUp);
        },
      };
      const timer = setTimeout(() => wait.finish(false), timeoutMs);
      this.pending.add(wait);
      this.unsubscribe ??= this.runtime.progress.subscribe(({ name }) => this.recheck(name));
      // Polling also covers a local runner that stops or fails while we wait.
      this.schedulePoll(
        projectionNames.some((n) => !this.runsLocally(n)) ? 0 : this.pollIntervalMs,
      );
    });
  }

  /**
   * Read-your-writes of a command (every use case's answer comes through here): true when every
   * write's projections have applied it within NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS. Past the bound
   * the writes still stand; the caller answers 202 with a Location.
   */
  async reached(written: readonly Written[]): Promise<boolean> {
    const waits = written.flatMap((w) =>
      w.position !== null && w.projections.length > 0
        ? [this.waitFor(w.position, w.projections, this.readYourWritesTimeoutMs)]
        : [],
    );
    return (await Promise.all(waits)).every(Boolean);
  }

  /** Stops polling and resolves every pending wait with false (application shutdown). */
  close(): void {
    for (const wait of [...this.pending]) wait.finish(false);
    this.idle();
  }

  private runsLocally(name: string): boolean {
    return this.runtime.runner(name)?.state === 'running';
  }

  private positionOf(name: string): Position | null | undefined {
    // A local runner publishes every commit; otherwise only the table is trustworthy (another
    // process may have rebuilt the projection since this one last ran it).
    return this.runsLocally(name) ? this.runtime.progress.lastKnown(name) : this.polled.get(name);
  }

  private reachedLocally(name: string, target: Position): boolean {
    if (!this.runsLocally(name)) return false;
    return reached(this.runtime.progress.lastKnown(name), target);
  }

  private recheck(name: string): void {
    for (const wait of [...this.pending]) {
      if (!wait.remaining.has(name)) continue;
      if (reached(this.positionOf(name), wait.target)) {
        wait.remaining.delete(name);
        if (wait.remaining.size === 0) wait.finish(true);
      }
    }
  }

  private schedulePoll(delayMs: number): void {
    if (this.polling || this.pollTimer) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, delayMs);
  }

  private async poll(): Promise<void> {
    const names = new Set<string>();
    for (const wait of this.pending)
      for (const name of wait.remaining) if (!this.runsLocally(name)) names.add(name);
    this.polling = true;
    try {
      if (names.size === 0) return;
      const stored = await readCheckpoints(this.checkpoints, [...names]);
      for (const name of names) {
        const checkpoint = stored.get(name);
        // A read model of another version is about to be rebuilt: its position does not count.
        const current = checkpoint?.version === this.versions.get(name);
        this.polled.set(name, current ? (checkpoint?.position ?? null) : null);
        this.recheck(name);
      }
    } catch {
      // The next poll tries again; waits end at their own timeouts.
    } finally {
      this.polling = false;
      if (this.pending.size > 0) this.schedulePoll(this.pollIntervalMs);
    }
  }

  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }
}

function reached(position: Position | null | undefined, target: Position): boolean {
  return position !== null && position !== undefined && comparePositions(position, target) >= 0;
}
