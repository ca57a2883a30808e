/**
 * `GET /tenants/:id/state?as_of=`: every resource of the tenant as it was at an instant, folded
 * from the tenant's events with the owning contexts' own `evolve` functions, presented in the
 * shapes of the live GET routes. Events count when their `occurredAt` is at or before `as_of`.
 *
 * Which families are folded, how, and under which field of the answer comes from the contexts'
 * resource-kind descriptors (`pointInTime`, e.g. src/compute/resources.ts, whose presenters are
 * compute's own views), so the as-of shapes cannot drift from the live ones.
 */
import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import { scanTenantEvents } from '../events/tenant-events';
import {
  RESOURCE_CATALOG,
  ResourceCatalog,
  type PointInTimeKind,
} from '../platform/resources/resource-catalog';
import type { FoldedResource } from '../platform/resources/resource-kind';

/** `tenant_id`, `as_of`, `events_applied`, then one field per folded family (`instances`...). */
export interface TenantStateJson {
  tenant_id: string;
  as_of: string;
  events_applied: number;
  [family: string]: unknown;
}

@Injectable()
export class PointInTime {
  private readonly kinds: Map<string, PointInTimeKind>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(RESOURCE_CATALOG) private readonly resources: ResourceCatalog,
  ) {
    this.kinds = new Map(resources.pointInTimeKinds().map((k) => [k.category, k]));
  }

  async stateAt(tenantId: string, asOf: Date): Promise<TenantStateJson> {
    const folded = new Map<string, { kind: PointInTimeKind; folded: FoldedResource<unknown> }>();
    let applied = 0;
    const to = new Date(asOf.getTime() + 1); // as_of is inclusive
    for await (const batch of scanTenantEvents(this.store, { tenantId, to })) {
      for (const event of batch) {
        const kind = this.kinds.get(this.resources.kindOfStream(event.streamId)?.category ?? '');
        if (!kind) continue;
        let entry = folded.get(event.streamId);
        if (!entry) {
          const initial = { state: kind.spec.initial(), revision: -1n, details: {} };
          entry = { kind, folded: initial };
          folded.set(event.streamId, entry);
        }
        entry.folded.state = kind.spec.evolve(entry.folded.state, event);
        entry.folded.revision = event.revision;
        kind.spec.details?.(entry.folded.details, event);
        applied += 1;
      }
    }
    const lists = new Map<string, unknown[]>([...this.kinds.values()].map((k) => [k.family, []]));
    const ordered = [...folded.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, entry] of ordered) {
      const shown = entry.kind.spec.present(entry.folded);
      if (shown !== null) lists.get(entry.kind.family)?.push(shown);
    }
    const state: TenantStateJson = {
      tenant_id: tenantId,
      as_of: asOf.toISOString(),
      events_applied: applied,
    };
    for (const kind of this.kinds.values()) {
      const shown = lists.get(kind.family) ?? [];
      state[kind.spec.field] = kind.spec.single ? (shown[0] ?? null) : shown;
    }
    return state;
  }
}
