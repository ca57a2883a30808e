import type { RecordedEvent } from './event-store';

/**
 * Turns an event stored at `fromVersion` into the shape of `fromVersion + 1`. History is never
 * rewritten: upcasters run on every read, chained until the event reaches the current version.
 */
export interface Upcaster {
  eventType: string;
  fromVersion: number;
  upcast(data: unknown): unknown;
}

export class UpcasterRegistry {
  private readonly byKey = new Map<string, Upcaster>();

  register(...upcasters: Upcaster[]): this {
    for (const u of upcasters) {
      const key = `${u.eventType}@${u.fromVersion}`;
      if (this.byKey.has(key)) throw new Error(`duplicate upcaster for ${key}`);
      this.byKey.set(key, u);
    }
    return this;
  }

  get size(): number {
    return this.byKey.size;
  }

  apply<T = unknown>(event: RecordedEvent): RecordedEvent<T> {
    if (this.byKey.size === 0) return event as RecordedEvent<T>;
    let version = event.metadata.schemaVersion;
    let data = event.data;
    let upcaster = this.byKey.get(`${event.type}@${version}`);
    if (!upcaster) return event as RecordedEvent<T>;
    while (upcaster) {
      data = upcaster.upcast(data);
      version += 1;
      upcaster = this.byKey.get(`${event.type}@${version}`);
    }
    return {
      ...event,
      data,
      metadata: { ...event.metadata, schemaVersion: version },
    } as RecordedEvent<T>;
  }
}
