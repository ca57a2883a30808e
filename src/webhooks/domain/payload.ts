import { streamEntityId } from '../../audit/domain/actions';
import { type RecordedEvent } from '../../eventstore/event-store';
import { encodePosition } from '../../kernel/position';

const SECRET_FIELD = /password|secret|token|hash|cipher|wrapped|private|enc$/i;
const PERSONAL = /^pii1\./;

/** Event data as the feed and webhooks show it: secrets left out, encrypted personal data erased. */
export function publicEventData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (SECRET_FIELD.test(key)) continue;
    out[key] = typeof value === 'string' && PERSONAL.test(value) ? '[erased]' : value;
  }
  return out;
}

/** `instance/<id>` from `instance-<id>`. */
export function resourceOfStream(streamId: string): string {
  const dash = streamId.indexOf('-');
  const category = dash === -1 ? 'stream' : streamId.slice(0, dash);
  return `${category}/${streamEntityId(streamId)}`;
}

export interface EventPayload {
  id: string;
  type: string;
  occurred_at: string;
  tenant_id: string | null;
  resource: string;
  actor: { type: string; id: string };
  position: string;
  data: unknown;
}

/** The JSON body of a webhook delivery and an item of GET /events. */
export function eventPayload(event: RecordedEvent): EventPayload {
  return {
    id: event.id,
    type: event.type,
    occurred_at: event.metadata.occurredAt,
    tenant_id: event.metadata.tenantId,
    resource: resourceOfStream(event.streamId),
    actor: { type: event.metadata.actor.type, id: event.metadata.actor.id },
    position: encodePosition(event.position),
    data: publicEventData(event.data),
  };
}
