/**
 * From a stored event to a timeline entry, and the CSV rendering of timeline lines.
 *
 * The timeline shows every event of the tenant, audited or not: the action and resource come from
 * the audit catalog when it knows the event type, otherwise the action is the event type itself
 * and the resource is taken from the stream name (`instance-<id>` reads `instance/<id>`, or as the
 * family owning the stream's category names it: `resourceOfStream`).
 */

import {
  defaultActorLabel,
  streamEntityId,
  toAuditRecord,
  type AuditableEvent,
  type AuditActionCatalog,
  type AuditMappingOptions,
} from '../../audit/domain/actions';
import { encodePosition, type Position } from '../../kernel/position';
import { summarizeChange, type TimelineEntry, type TimelineLine } from './chain';

export interface TimelineEvent extends AuditableEvent {
  position: Position;
}

export interface TimelineEntryOptions extends AuditMappingOptions {
  /**
   * The event data as the export may show it: personal fields decrypted, or `[erased]` when the
   * person's key is destroyed. Defaults to the data as stored.
   */
  renderData?: (event: TimelineEvent) => unknown;
  /** The resource of an event the audit log leaves out; by default `<category>/<id>`. */
  resourceOfStream?: (streamId: string) => string;
}

export function timelineEntryOf(
  event: TimelineEvent,
  catalog: AuditActionCatalog,
  options: TimelineEntryOptions = {},
): TimelineEntry {
  const audit = toAuditRecord(event, catalog, options);
  const category = event.streamId.includes('-')
    ? event.streamId.slice(0, event.streamId.indexOf('-'))
    : 'stream';
  const data = options.renderData ? options.renderData(event) : event.data;
  return {
    position: encodePosition(event.position),
    time: event.metadata.occurredAt,
    actor: audit?.actor ?? (options.actorLabel ?? defaultActorLabel)(event.metadata.actor),
    action: audit?.action ?? event.type,
    resource:
      audit?.resource ??
      (options.resourceOfStream
        ? options.resourceOfStream(event.streamId)
        : `${category}/${streamEntityId(event.streamId)}`),
    summary: summarizeChange(event.type, data),
  };
}

export const TIMELINE_CSV_COLUMNS = [
  'seq',
  'time',
  'actor',
  'action',
  'resource',
  'summary',
  'position',
  'hash',
] as const;

/**
 * One CSV field (RFC 4180 quoting). Text starting with `=`, `+`, `-`, `@`, tab or CR is prefixed
 * with `'` so a spreadsheet does not run it as a formula.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function timelineCsvHeader(): string {
  return `${TIMELINE_CSV_COLUMNS.join(',')}\r\n`;
}

/** A CSV row of a timeline line (the CSV export is for reading; the NDJSON one is verifiable). */
export function timelineCsvRow(line: TimelineLine): string {
  return `${TIMELINE_CSV_COLUMNS.map((c) => csvField(line[c])).join(',')}\r\n`;
}
