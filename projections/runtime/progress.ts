import { EventEmitter } from 'node:events';
import type { Position } from '../../src/eventstore/event-store';

export interface ProjectionProgressUpdate {
  name: string;
  /** Checkpoint after the committed batch; null after a reset to the start. */
  position: Position | null;
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

  subscribe(listener: (update: ProjectionProgressUpdate) => void): () => void {
    this.emitter.on('progress', listener);
    return () => {
      this.emitter.off('progress', listener);
    };
  }
}
