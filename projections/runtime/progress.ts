import { EventEmitter } from 'node:events';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { Position } from '../../src/kernel/position';

export interface ProjectionProgressUpdate {
  name: string;
  /** Checkpoint after the committed batch; null after a reset to the start. */
  position: Position | null;
}

/**
 * What a runner of this process changed in its read model: the events of a committed batch, or
 * `unknown` when the tables may have changed in ways this process did not see (the runner
 * started, stopped, lost its lock or reset its read model).
 */
export interface ReadModelChange {
  name: string;
  events: readonly RecordedEvent[] | 'unknown';
}

/**
 * In-process notifications of committed checkpoints: runners publish after each commit, and
 * the checkpoint poller publishes what it reads for runners living in other processes.
 * Waiters listen instead of polling.
 */
export class ProjectionProgress {
  private readonly emitter = new EventEmitter();
  private readonly known = new Map<string, Position | null>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(update: ProjectionProgressUpdate): void {
    this.known.set(update.name, update.position);
    this.emitter.emit('progress', update);
  }

  /** Last position published for `name` in this process, undefined when none was. */
  lastKnown(name: string): Position | null | undefined {
    return this.known.get(name);
  }

  /**
   * Published by a runner right after its batch committed and before its checkpoint is
   * published: a cache invalidated here is fresh before any read-your-writes wait ends.
   */
  publishChange(change: ReadModelChange): void {
    this.emitter.emit('change', change);
  }

  subscribeChanges(listener: (change: ReadModelChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => {
      this.emitter.off('change', listener);
    };
  }

  subscribe(listener: (update: ProjectionProgressUpdate) => void): () => void {
    this.emitter.on('progress', listener);
    return () => {
      this.emitter.off('progress', listener);
    };
  }
}
