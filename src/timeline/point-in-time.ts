/**
 * `GET /tenants/:id/state?as_of=`: every resource of the tenant as it was at an instant, folded
 * from the tenant's events with the owning contexts' own `evolve` functions, presented in the
 * shapes of the live GET routes. Events count when their `occurredAt` is at or before `as_of`.
 *
 * Compute resources are presented by compute's own views (src/compute/application/views.ts, pure
 * functions of the decider state), so the as-of shapes cannot drift from the live ones.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  evolveImage,
  evolveInstance,
  evolveVolume,
  initialImageState,
  initialInstanceState,
  initialVolumeState,
  type ImageEvent,
  type ImageState,
  type InstanceEvent,
  type InstanceState,
  type VolumeEvent,
  type VolumeState,
} from '../compute/domain';
import { imageView, instanceView, volumeView } from '../compute/application/views';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '../eventstore/event-store';
import { scanTenantEvents } from '../events/tenant-events';
import {
  evolveApiKey,
  initialApiKeyState,
  type ApiKeyEvent,
  type ApiKeyState,
} from '../identity/domain/api-key';
import {
  evolvePolicy,
  initialPolicyState,
  type PolicyEvent,
  type PolicyState,
} from '../identity/domain/policy';
import {
  evolveTenant,
  initialTenantState,
  type TenantEvent,
  type TenantState,
} from '../identity/domain/tenant';

interface Folded<S> {
  state: S;
  revision: bigint;
  /** Details the decision state does not keep but the API shows (names, creation time...). */
  details: Record<string, unknown>;
}

interface Kind<S> {
  initial(): S;
  evolve(state: S, event: RecordedEvent): S;
  /** Remembers display details from the event data. */
  details?(details: Record<string, unknown>, event: RecordedEvent): void;
  present(folded: Folded<S>): unknown;
}

function kind<S>(k: Kind<S>): Kind<S> {
  return k;
}

const data = (e: RecordedEvent): Record<string, unknown> => e.data as Record<string, unknown>;

const KINDS = {
  instance: kind<InstanceState>({
    initial: initialInstanceState,
    evolve: (s, e) => evolveInstance(s, { type: e.type, data: e.data } as InstanceEvent),
    present: ({ state: s }) => (s.status === 'NONE' ? null : instanceView(s)),
  }),
  volume: kind<VolumeState>({
    initial: initialVolumeState,
    evolve: (s, e) => evolveVolume(s, { type: e.type, data: e.data } as VolumeEvent),
    present: ({ state: s }) => (s.status === 'NONE' ? null : volumeView(s)),
  }),
  image: kind<ImageState>({
    initial: initialImageState,
    evolve: (s, e) => evolveImage(s, { type: e.type, data: e.data } as ImageEvent),
    present: ({ state: s }) => (s.imageId === null ? null : imageView(s)),
  }),
  apikey: kind<ApiKeyState>({
    initial: initialApiKeyState,
    evolve: (s, e) => evolveApiKey(s, { type: e.type, data: e.data } as ApiKeyEvent),
    details: (d, e) => {
      if (e.type === 'ApiKeyCreated')
        Object.assign(d, { name: data(e).name, created_at: data(e).createdAt });
    },
    present: ({ state: s, revision, details }) =>
      s.status !== 'active'
        ? null
        : {
            id: s.keyId,
            user_id: s.userId,
            tenant_id: s.tenantId,
            name: details.name ?? null,
            prefix: s.prefix,
            kind: s.kind,
            created_at: details.created_at ?? null,
            last_used: null,
            expires_at: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
            revision: revision.toString(),
          },
  }),
  policy: kind<PolicyState>({
    initial: initialPolicyState,
    evolve: (s, e) => evolvePolicy(s, { type: e.type, data: e.data } as PolicyEvent),
    details: (d, e) => {
      if (e.type === 'PolicyCreated') {
        const x = data(e);
        Object.assign(d, {
          name: x.name,
          description: x.description ?? null,
          statements: x.statements,
          created_at: x.createdAt,
        });
      }
    },
    present: ({ state: s, revision, details }) =>
      s.status !== 'active'
        ? null
        : {
            id: s.policyId,
            tenant_id: s.tenantId,
            name: details.name ?? null,
            description: details.description ?? null,
            statements: details.statements ?? [],
            attached_user_ids: [...s.attachedUserIds],
            created_at: details.created_at ?? null,
            revision: revision.toString(),
          },
  }),
  tenant: kind<TenantState>({
    initial: initialTenantState,
    evolve: (s, e) => evolveTenant(s, { type: e.type, data: e.data } as TenantEvent),
    details: (d, e) => {
      if (e.type === 'TenantCreated') {
        const x = data(e);
        Object.assign(d, { name: x.name, owner_id: x.ownerId, created_at: x.createdAt });
      }
    },
    present: ({ state: s, revision, details }) =>
      !s.exists
        ? null
        : {
            id: s.tenantId,
            name: details.name ?? null,
            slug: s.slug,
            owner_id: details.owner_id ?? null,
            created_at: details.created_at ?? null,
            revision: revision.toString(),
            members: Object.entries(s.members)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([user_id, role]) => ({ tenant_id: s.tenantId, user_id, role })),
          },
  }),
} as const;

type KindName = keyof typeof KINDS;

export interface TenantStateJson {
  tenant_id: string;
  as_of: string;
  events_applied: number;
  tenant: unknown;
  instances: unknown[];
  volumes: unknown[];
  images: unknown[];
  api_keys: unknown[];
  policies: unknown[];
}

function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}

@Injectable()
export class PointInTime {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async stateAt(tenantId: string, asOf: Date): Promise<TenantStateJson> {
    const folded = new Map<string, { kind: KindName; folded: Folded<unknown> }>();
    let applied = 0;
    const to = new Date(asOf.getTime() + 1); // as_of is inclusive
    for await (const batch of scanTenantEvents(this.store, { tenantId, to })) {
      for (const event of batch) {
        const category = categoryOf(event.streamId);
        if (!(category in KINDS)) continue;
        const name = category as KindName;
        const k = KINDS[name] as unknown as Kind<unknown>;
        let entry = folded.get(event.streamId);
        if (!entry) {
          entry = { kind: name, folded: { state: k.initial(), revision: -1n, details: {} } };
          folded.set(event.streamId, entry);
        }
        entry.folded.state = k.evolve(entry.folded.state, event);
        entry.folded.revision = event.revision;
        k.details?.(entry.folded.details, event);
        applied += 1;
      }
    }
    const lists: Record<KindName, unknown[]> = {
      instance: [],
      volume: [],
      image: [],
      apikey: [],
      policy: [],
      tenant: [],
    };
    const ordered = [...folded.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, entry] of ordered) {
      const shown = (KINDS[entry.kind] as unknown as Kind<unknown>).present(entry.folded);
      if (shown !== null) lists[entry.kind].push(shown);
    }
    return {
      tenant_id: tenantId,
      as_of: asOf.toISOString(),
      events_applied: applied,
      tenant: lists.tenant[0] ?? null,
      instances: lists.instance,
      volumes: lists.volume,
      images: lists.image,
      api_keys: lists.apikey,
      policies: lists.policy,
    };
  }
}
