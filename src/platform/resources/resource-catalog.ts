/**
 * Everything derived from the contexts' resource-kind descriptors: the audit action catalog, the
 * list of event types (`GET /events/types`), the timeline's resource names, the billing meter's
 * classification and point-in-time folds. Pure; built once from the descriptors the contexts
 * contribute (src/resource-kinds.ts) and provided as `RESOURCE_CATALOG`.
 */
import {
  AuditActionCatalog,
  streamEntityId,
  type AuditActionEntry,
  type IgnoredEventType,
} from '../../audit/domain/actions';
import type { MeterName } from '../../billing/domain/meter';
import {
  billingMeters,
  type KindEvent,
  type MeterRole,
  type PointInTimeSpec,
  type ResourceKind,
} from './resource-kind';

export class ResourceCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceCatalogError';
  }
}

/** One item of `GET /events/types`. */
export interface EventTypeDescription {
  type: string;
  context: string;
  family: string;
  audited: boolean;
  action: string | null;
  /** The audit action's description, or why the event is not audited. */
  description: string;
}

/** How the billing meter reads one event type. */
export interface MeteredEventType {
  family: string;
  meter: MeterName;
  role: MeterRole;
  resourceIdField: string;
  /** Set for a family's further meters: their usage id is uuid v5 of `<resource id>/<usageKey>`. */
  usageKey?: string;
  /** What an `adjust` event adds to the metered quantity (the family's `quantityDelta`). */
  quantityDelta?(event: KindEvent): number;
}

export interface PointInTimeKind {
  category: string;
  family: string;
  spec: PointInTimeSpec<unknown>;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The part of a stream id before its first dash (`instance` of `instance-<id>`). */
function firstSegment(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash === -1 ? null : streamId.slice(0, dash);
}

export class ResourceCatalog {
  readonly audit = new AuditActionCatalog();
  private readonly byEventType = new Map<string, ResourceKind>();
  private readonly byCategory = new Map<string, ResourceKind>();
  private readonly metered = new Map<string, MeteredEventType[]>();

  constructor(readonly kinds: readonly ResourceKind[]) {
    for (const kind of kinds) this.add(kind);
  }

  /** Every event type some family emits, sorted. */
  emittedEventTypes(): string[] {
    return [...this.byEventType.keys()].sort(compareText);
  }

  /** Every event type the audit log records, sorted (the audit projection's filter). */
  auditedEventTypes(): string[] {
    return this.emittedEventTypes().filter((t) => this.audit.entryFor(t) !== undefined);
  }

  /** `GET /events/types`: every emitted event type, audited or not, sorted by type. */
  eventTypes(): EventTypeDescription[] {
    return this.emittedEventTypes().map((type) => {
      const kind = this.byEventType.get(type) as ResourceKind;
      const rule = kind.events[type];
      const audited = 'action' in rule;
      return {
        type,
        context: kind.context,
        family: kind.family,
        audited,
        action: audited ? rule.action : null,
        description: audited ? kind.actions[rule.action] : rule.ignored,
      };
    });
  }

  kindOfEventType(type: string): ResourceKind | undefined {
    return this.byEventType.get(type);
  }

  kindOfCategory(category: string): ResourceKind | undefined {
    return this.byCategory.get(category);
  }

  /**
   * The family whose stream this is: the longest category `c` with the id starting `c-`
   * (categories may hold dashes: `vpc-peering-<id>` is a peering's, not a VPC's).
   */
  kindOfStream(streamId: string): ResourceKind | undefined {
    let found: ResourceKind | undefined;
    for (const kind of this.kinds) {
      if (
        streamId.startsWith(`${kind.category}-`) &&
        (!found || kind.category.length > found.category.length)
      ) {
        found = kind;
      }
    }
    return found;
  }

  /** `instance/<id>` from `instance-<id>`: the family's name, else the stream's first segment. */
  resourceOfStream(streamId: string): string {
    const kind = this.kindOfStream(streamId);
    if (kind) return `${kind.family}/${streamId.slice(kind.category.length + 1)}`;
    return `${firstSegment(streamId) ?? 'stream'}/${streamEntityId(streamId)}`;
  }

  /** The event types the billing meter reads, sorted. */
  meteredEventTypes(): string[] {
    return [...this.metered.keys()].sort(compareText);
  }

  /** How the family's first meter reading `type` reads it (undefined: not billed). */
  meteringOf(type: string): MeteredEventType | undefined {
    return this.metered.get(type)?.[0];
  }

  /** Every meter reading `type`, in the order the family declares them (a cluster has two). */
  meteringsOf(type: string): readonly MeteredEventType[] {
    return this.metered.get(type) ?? [];
  }

  /** The families point-in-time state folds, in the order the contexts declared them. */
  pointInTimeKinds(): PointInTimeKind[] {
    return this.kinds.flatMap((k) =>
      k.pointInTime ? [{ category: k.category, family: k.family, spec: k.pointInTime }] : [],
    );
  }

  private add(kind: ResourceKind): void {
    const owner = this.byCategory.get(kind.category);
    if (owner) {
      throw new ResourceCatalogError(
        `stream category ${kind.category} is declared by ${owner.context}/${owner.family} and ${kind.context}/${kind.family}`,
      );
    }
    this.byCategory.set(kind.category, kind);
    const used = new Set<string>();
    const entries: AuditActionEntry[] = [];
    const ignored: IgnoredEventType[] = [];
    for (const [eventType, rule] of Object.entries(kind.events)) {
      const other = this.byEventType.get(eventType);
      if (other) {
        throw new ResourceCatalogError(
          `event type ${eventType} is declared by ${other.context}/${other.family} and ${kind.context}/${kind.family}`,
        );
      }
      this.byEventType.set(eventType, kind);
      if ('ignored' in rule) {
        ignored.push({ eventType, context: kind.context, reason: rule.ignored });
        continue;
      }
      const description = kind.actions[rule.action];
      if (description === undefined) {
        throw new ResourceCatalogError(
          `${kind.context}/${kind.family}: ${eventType} is audited as ${rule.action}, which has no description`,
        );
      }
      used.add(rule.action);
      entries.push({
        eventType,
        action: rule.action,
        description,
        context: kind.context,
        resourceKind: kind.family,
        status: rule.status,
        confirmed: true,
        actionOf: kind.audit?.actionOf,
        resourceOf: kind.audit?.resourceOf,
        // The id after the family's category, which may hold dashes (`elastic-ip-<id>`).
        resourceId: (event: { streamId: string }) =>
          event.streamId.startsWith(`${kind.category}-`)
            ? event.streamId.slice(kind.category.length + 1)
            : event.streamId.slice(event.streamId.indexOf('-') + 1),
      });
    }
    const unused = Object.keys(kind.actions).filter((a) => !used.has(a));
    if (unused.length > 0) {
      throw new ResourceCatalogError(
        `${kind.context}/${kind.family}: no event is audited as ${unused.join(', ')}`,
      );
    }
    this.audit.register(entries).ignore(ignored);
    const meters = billingMeters(kind.billing);
    meters.forEach((billing, index) => {
      if (index > 0 && !billing.usageKey) {
        throw new ResourceCatalogError(
          `${kind.context}/${kind.family}: meter ${billing.meter} needs a usageKey (only a family's first meter is keyed by the resource id)`,
        );
      }
      for (const [eventType, role] of Object.entries(billing.events)) {
        if (!role) continue;
        if (!(eventType in kind.events)) {
          throw new ResourceCatalogError(
            `${kind.context}/${kind.family}: the meter reads ${eventType}, which the family does not emit`,
          );
        }
        const { quantityDelta } = billing;
        if (role === 'adjust' && !quantityDelta) {
          throw new ResourceCatalogError(
            `${kind.context}/${kind.family}: ${eventType} adjusts the meter without a quantityDelta`,
          );
        }
        const readers = this.metered.get(eventType) ?? [];
        readers.push({
          family: kind.family,
          meter: billing.meter,
          role,
          resourceIdField: billing.resourceIdField,
          ...(billing.usageKey ? { usageKey: billing.usageKey } : {}),
          ...(quantityDelta ? { quantityDelta: (event: KindEvent) => quantityDelta(event) } : {}),
        });
        this.metered.set(eventType, readers);
      }
    });
  }
}

/** Nest token of the application's `ResourceCatalog` (src/resource-kinds.ts provides it). */
export const RESOURCE_CATALOG = Symbol('RESOURCE_CATALOG');
