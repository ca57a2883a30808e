/**
 * The audit action catalog: which events appear in the audit log, under which action name, with
 * which outcome. Served as `GET /audit/actions`.
 *
 * A registry keyed by event type, filled from the bounded contexts' resource-kind descriptors
 * (`ResourceCatalog`, src/platform/resources): each context declares, per event type its deciders
 * emit, the action it is audited under or why it is deliberately not audited (`catalog.ignore`),
 * so a completeness test can assert that every emitted event type is one or the other
 * (`catalog.unclassified(types)`).
 *
 * Action names are UPPER_SNAKE `<RESOURCE>_<VERB>` (`INSTANCE_LAUNCH`, `API_KEY_CREATE`). Several
 * event types may share one action with different outcomes (`LoginSucceeded` and `LoginFailed`
 * are both `USER_LOGIN`, success and failure).
 */

export type AuditStatus = 'success' | 'failure' | 'denied';

/** The event, as much of it as the audit mapping needs (a RecordedEvent fits). */
export interface AuditableEvent {
  id: string;
  type: string;
  data: unknown;
  streamId: string;
  metadata: {
    tenantId: string | null;
    actor: { type: 'user' | 'api_key' | 'system'; id: string };
    requestId: string | null;
    sourceIp: string | null;
    occurredAt: string;
  };
}

export interface AuditActionEntry {
  eventType: string;
  action: string;
  description: string;
  /** Owning bounded context: identity, compute, network, billing, webhooks... */
  context: string;
  /** The resource kind in `resource` ("instance" in "instance/<id>"). */
  resourceKind: string;
  /** Outcome this event stands for; `success` when absent. */
  status?: AuditStatus;
  /**
   * False when the event name was inferred from the issues and not yet confirmed by the context
   * that owns it. The owning context confirms by registering the entry itself.
   */
  confirmed: boolean;
  /** The resource id; by default the id part of the stream id (`instance-<id>` gives `<id>`). */
  resourceId?: (event: AuditableEvent) => string | null;
  /** An action depending on the event (a denial names the action that was refused). */
  actionOf?: (event: AuditableEvent) => string;
  /** A whole resource string overriding `resourceKind/resourceId` (a denial names the path). */
  resourceOf?: (event: AuditableEvent) => string;
}

export interface IgnoredEventType {
  eventType: string;
  context: string;
  /** Why it is not audited (another event of the same command carries the action, internal...). */
  reason: string;
}

/** One action as `GET /audit/actions` lists it. */
export interface AuditActionDescription {
  action: string;
  description: string;
  context: string;
  resource_kind: string;
  event_types: Array<{ type: string; status: AuditStatus; confirmed: boolean }>;
}

const ACTION_RE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;
const EVENT_TYPE_RE = /^[A-Z][A-Za-z0-9]*$/;

export class AuditCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditCatalogError';
  }
}

export class AuditActionCatalog {
  private readonly entries = new Map<string, AuditActionEntry>();
  private readonly ignored = new Map<string, IgnoredEventType>();

  /** Adds entries; an event type may be registered once (a second registration is a bug). */
  register(entries: readonly AuditActionEntry[]): this {
    for (const entry of entries) {
      this.assertNew(entry.eventType);
      if (!ACTION_RE.test(entry.action)) {
        throw new AuditCatalogError(`action ${entry.action} is not UPPER_SNAKE <RESOURCE>_<VERB>`);
      }
      const known = this.findByAction(entry.action);
      if (known && known.description !== entry.description) {
        throw new AuditCatalogError(`action ${entry.action} described twice, differently`);
      }
      this.entries.set(entry.eventType, entry);
    }
    return this;
  }

  /** Declares event types that are deliberately not audited. */
  ignore(types: readonly IgnoredEventType[]): this {
    for (const t of types) {
      this.assertNew(t.eventType);
      this.ignored.set(t.eventType, t);
    }
    return this;
  }

  /**
   * Replaces an inferred entry with the owning context's own (confirmed) one, or registers it.
   * This is how a context confirms or corrects what the catalog guessed.
   */
  confirm(entries: readonly AuditActionEntry[]): this {
    for (const entry of entries) {
      const previous = this.entries.get(entry.eventType);
      if (previous && previous.confirmed) {
        throw new AuditCatalogError(`${entry.eventType} is already confirmed`);
      }
      this.entries.delete(entry.eventType);
      this.ignored.delete(entry.eventType);
      this.register([{ ...entry, confirmed: true }]);
    }
    return this;
  }

  entryFor(eventType: string): AuditActionEntry | undefined {
    return this.entries.get(eventType);
  }

  isIgnored(eventType: string): boolean {
    return this.ignored.has(eventType);
  }

  /** Event types neither audited nor ignored: a completeness test expects none. */
  unclassified(eventTypes: Iterable<string>): string[] {
    return [...new Set(eventTypes)].filter((t) => !this.entries.has(t) && !this.ignored.has(t));
  }

  /**
   * Drift between the catalog and the event types the deciders (and other writers) emit:
   * `unclassified` are emitted but neither audited nor ignored, `notEmitted` are in the catalog
   * but nothing emits them. A complete catalog has neither.
   */
  drift(emitted: Iterable<string>): { unclassified: string[]; notEmitted: string[] } {
    const types = new Set(emitted);
    const known = [...this.entries.keys(), ...this.ignored.keys()];
    return {
      unclassified: this.unclassified(types).sort(compareText),
      notEmitted: known.filter((t) => !types.has(t)).sort(compareText),
    };
  }

  /** Every action, with the event types that produce it, sorted by action name. */
  describe(): AuditActionDescription[] {
    const byAction = new Map<string, AuditActionDescription>();
    for (const entry of this.entries.values()) {
      let description = byAction.get(entry.action);
      if (!description) {
        description = {
          action: entry.action,
          description: entry.description,
          context: entry.context,
          resource_kind: entry.resourceKind,
          event_types: [],
        };
        byAction.set(entry.action, description);
      }
      description.event_types.push({
        type: entry.eventType,
        status: entry.status ?? 'success',
        confirmed: entry.confirmed,
      });
    }
    const list = [...byAction.values()];
    for (const d of list) d.event_types.sort((a, b) => compareText(a.type, b.type));
    return list.sort((a, b) => compareText(a.action, b.action));
  }

  /** Names of all actions (for validating `?action=` filters). */
  actionNames(): Set<string> {
    return new Set([...this.entries.values()].map((e) => e.action));
  }

  private findByAction(action: string): AuditActionEntry | undefined {
    for (const entry of this.entries.values()) if (entry.action === action) return entry;
    return undefined;
  }

  private assertNew(eventType: string): void {
    if (!EVENT_TYPE_RE.test(eventType)) {
      throw new AuditCatalogError(`event type ${eventType} is not PascalCase`);
    }
    if (this.entries.has(eventType) || this.ignored.has(eventType)) {
      throw new AuditCatalogError(`event type ${eventType} is already in the audit catalog`);
    }
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The id part of a `category-id` stream name. */
export function streamEntityId(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(dash + 1);
}

/** One audit log row with the fields the read model needs for filtering. */
export interface AuditRecord {
  /** The event id: deterministic, so a rebuilt audit log has the same ids. */
  id: string;
  timestamp: string;
  tenant_id: string | null;
  actor: string;
  actor_type: 'user' | 'api_key' | 'system';
  actor_id: string;
  action: string;
  resource: string;
  status: AuditStatus;
  ip_address: string | null;
  request_id: string | null;
  event_type: string;
}

/** `GET /audit` item. */
export interface AuditRowJson {
  id: string;
  timestamp: string;
  actor: string;
  action: string;
  resource: string;
  status: AuditStatus;
  ip_address: string | null;
  request_id: string | null;
}

export interface AuditMappingOptions {
  /**
   * How the actor reads: the projection passes a resolver that shows a user's email (or
   * `[erased]`) and an API key's name. Defaults: the user id, `api_key:<id>`, `system`.
   */
  actorLabel?: (actor: AuditableEvent['metadata']['actor']) => string;
}

export function defaultActorLabel(actor: AuditableEvent['metadata']['actor']): string {
  switch (actor.type) {
    case 'user':
      return actor.id;
    case 'api_key':
      return `api_key:${actor.id}`;
    case 'system':
      return 'system';
    default: {
      const unreachable: never = actor.type;
      return String(unreachable);
    }
  }
}

/** The audit row of an event, or null when the catalog does not audit its type. Pure. */
export function toAuditRecord(
  event: AuditableEvent,
  catalog: AuditActionCatalog,
  options: AuditMappingOptions = {},
): AuditRecord | null {
  const entry = catalog.entryFor(event.type);
  if (!entry) return null;
  const { metadata } = event;
  const resourceId = (entry.resourceId ?? ((e) => streamEntityId(e.streamId)))(event);
  const resource = entry.resourceOf
    ? entry.resourceOf(event)
    : `${entry.resourceKind}/${resourceId ?? 'unknown'}`;
  return {
    id: event.id,
    timestamp: metadata.occurredAt,
    tenant_id: metadata.tenantId,
    actor: (options.actorLabel ?? defaultActorLabel)(metadata.actor),
    actor_type: metadata.actor.type,
    actor_id: metadata.actor.id,
    action: entry.actionOf ? entry.actionOf(event) : entry.action,
    resource,
    status: entry.status ?? 'success',
    ip_address: metadata.sourceIp,
    request_id: metadata.requestId,
    event_type: event.type,
  };
}

export function presentAuditRow(record: AuditRecord): AuditRowJson {
  return {
    id: record.id,
    timestamp: record.timestamp,
    actor: record.actor,
    action: record.action,
    resource: record.resource,
    status: record.status,
    ip_address: record.ip_address,
    request_id: record.request_id,
  };
}
