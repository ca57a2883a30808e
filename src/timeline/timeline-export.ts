/**
 * Streams a tenant's timeline: reads the event log in batches up to the head as it was when the
 * export began, keeps the tenant's events inside the requested range, renders each one (actor
 * label, erased personal data) and chains it. Memory stays bounded by one batch: nothing is
 * buffered beyond it, and the consumer's back-pressure paces the reads (an async generator only
 * reads the next batch when the stream asks for more).
 */
import { Inject, Injectable } from '@nestjs/common';
import { ActorDirectory, actorKey, ERASED, type UserIdentity } from '../audit/actor-directory';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '../eventstore/event-store';
import type { Actor } from '../kernel/command-context';
import { scanTenantEvents } from '../events/tenant-events';
import { RESOURCE_CATALOG, ResourceCatalog } from '../platform/resources/resource-catalog';
import { Clock } from '../platform/clock';
import {
  serializeLine,
  TimelineChainBuilder,
  timelineCsvHeader,
  timelineCsvRow,
  timelineEntryOf,
  csvField,
  lineText,
  type TimelineEntryOptions,
} from './domain';
import { TimelineKeys } from './timeline-keys';

export type TimelineFormat = 'ndjson' | 'csv';

export interface TimelineRange {
  from: Date | null;
  to: Date | null;
}

const PERSONAL = /^pii1\./;

@Injectable()
export class TimelineExporter {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly actors: ActorDirectory,
    private readonly keys: TimelineKeys,
    private readonly clock: Clock,
    @Inject(RESOURCE_CATALOG) private readonly resources: ResourceCatalog,
  ) {}

  /** Chunks of the export file, in order; the last NDJSON line is the signed manifest. */
  async *export(
    tenantId: string,
    range: TimelineRange,
    format: TimelineFormat,
  ): AsyncGenerator<string> {
    const builder = new TimelineChainBuilder(tenantId, {
      from: range.from?.toISOString() ?? null,
      to: range.to?.toISOString() ?? null,
    });
    const labels = new Map<string, string>();
    const people = new Map<string, UserIdentity>();
    const options: TimelineEntryOptions = {
      actorLabel: (actor) => labels.get(actorKey(actor)) ?? actor.id,
      renderData: (e) => renderPersonalData(e.data, people),
      resourceOfStream: (streamId) => this.resources.resourceOfStream(streamId),
    };
    if (format === 'csv') yield timelineCsvHeader();
    for await (const mine of scanTenantEvents(this.store, { tenantId, ...range })) {
      if (mine.length === 0) continue;
      await this.resolve(mine, labels, people);
      const parts: string[] = [];
      for (const event of mine) {
        const entry = timelineEntryOf(event, this.resources.audit, options);
        parts.push(
          format === 'ndjson' ? builder.appendText(entry) : timelineCsvRow(builder.append(entry)),
        );
      }
      yield parts.join('');
    }
    const manifest = builder.finish(this.keys.signer, this.clock.now());
    if (format === 'ndjson') yield serializeLine(manifest);
    // CSV is for reading; its last row carries the manifest so the file says what it covers.
    else yield `manifest,,,,,${csvField(lineText(manifest))},,${manifest.final_hash}\r\n`;
  }

  /** Labels of the batch's actors and the people its events are about, cached for the export. */
  private async resolve(
    events: readonly RecordedEvent[],
    labels: Map<string, string>,
    people: Map<string, UserIdentity>,
  ): Promise<void> {
    const actors = new Map<string, Actor>();
    const userIds = new Set<string>();
    for (const e of events) {
      const key = actorKey(e.metadata.actor);
      if (!labels.has(key)) actors.set(key, e.metadata.actor);
      const subject = subjectOf(e.data);
      if (subject && !people.has(subject) && hasPersonalData(e.data)) userIds.add(subject);
    }
    if (actors.size > 0) {
      for (const [key, label] of await this.actors.labels([...actors.values()])) {
        labels.set(key, label);
      }
    }
    if (userIds.size > 0) {
      const found = await this.actors.users([...userIds]);
      for (const id of userIds) {
        people.set(id, found.get(id) ?? { id, status: 'erased', email: ERASED, name: ERASED });
      }
    }
  }
}

function subjectOf(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const id = (data as Record<string, unknown>).userId;
  return typeof id === 'string' ? id : null;
}

function hasPersonalData(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  return Object.values(data as Record<string, unknown>).some(
    (v) => typeof v === 'string' && PERSONAL.test(v),
  );
}

/**
 * Encrypted personal fields (`pii1.…`) read as the person's current email or name, or
 * `[erased]` once their key is destroyed (or when the field cannot be attributed).
 */
export function renderPersonalData(data: unknown, people: Map<string, UserIdentity>): unknown {
  if (!hasPersonalData(data)) return data;
  const record = data as Record<string, unknown>;
  const person = people.get(subjectOf(data) ?? '');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string' && PERSONAL.test(value)) {
      if (!person || person.status !== 'active') out[key] = ERASED;
      else if (key === 'email') out[key] = person.email;
      else if (key === 'name') out[key] = person.name;
      else out[key] = ERASED;
    } else out[key] = value;
  }
  return out;
}
