/**
 * Serialises work per key inside one process (a tenant's quota stream, one instance's container).
 * Other processes are handled by the event store's expected revisions; this only avoids wasting
 * retries on conflicts between requests of the same process.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while someone holds or waits for the key. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
