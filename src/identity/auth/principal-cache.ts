/**
 * The guard's view of who a caller is (user, memberships, API key, attached policies), cached in
 * memory so that a request costs no identity query. It stays exact because it only serves what
 * the identity projections of this process wrote:
 *  - an entry is served and stored only while the projection behind it runs in this process;
 *  - the runner announces every committed batch before it publishes its checkpoint, and the
 *    entries those events may change are dropped then. Commands wait for these projections
 *    before they answer (read-your-writes), so a revoked key, a removed member or a detached
 *    policy is seen by the very next request;
 *  - a runner that starts, stops, fails or resets drops the entries of its read model, and a
 *    load that was in flight while entries were dropped is not stored.
 * Where the identity projections run in another process every call reads the read model.
 */
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { RecordedEvent } from '../../eventstore/event-store';
import { ProjectionRuntime } from '../../../projections/runtime/projection-runtime';
import type { ReadModelChange } from '../../../projections/runtime/progress';
import {
  API_KEYS_PROJECTION,
  POLICIES_PROJECTION,
  TENANTS_PROJECTION,
  USERS_PROJECTION,
} from '../../../projections/identity';
import {
  IdentityReadModel,
  type ApiKeyRow,
  type MembershipRow,
  type PolicyRow,
  type UserRow,
} from '../read-model/identity-read-model';

/** Entries per section; a full section starts over (bounded memory, never a stale answer). */
const MAX_ENTRIES = 20_000;

/** Events of the policies projection that change no attachment: a new policy is attached to nobody. */
const ATTACHMENT_NEUTRAL = new Set(['PolicyCreated']);

class Section<T> {
  private readonly entries = new Map<string, T>();
  private generation = 0;

  constructor(
    readonly projection: string,
    private readonly live: (projection: string) => boolean,
  ) {}

  drop(): void {
    this.generation++;
    this.entries.clear();
  }

  async get(key: string, load: () => Promise<T | null>): Promise<T | null> {
    if (!this.live(this.projection)) return load();
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const value = await load();
    // Absent rows are not kept: a miss costs a query, and unknown keys cannot fill the cache.
    if (value !== null && generation === this.generation && this.live(this.projection)) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}

@Injectable()
export class PrincipalCache implements OnModuleDestroy {
  private readonly usersById: Section<UserRow>;
  private readonly membershipsByUser: Section<MembershipRow[]>;
  private readonly membershipByTenantUser: Section<MembershipRow>;
  private readonly keysByPrefix: Section<ApiKeyRow>;
  private readonly policiesByMember: Section<PolicyRow[]>;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly readModel: IdentityReadModel,
    runtime: ProjectionRuntime,
  ) {
    const live = (name: string) => runtime.runner(name)?.state === 'running';
    this.usersById = new Section(USERS_PROJECTION, live);
    this.membershipsByUser = new Section(TENANTS_PROJECTION, live);
    this.membershipByTenantUser = new Section(TENANTS_PROJECTION, live);
    this.keysByPrefix = new Section(API_KEYS_PROJECTION, live);
    this.policiesByMember = new Section(POLICIES_PROJECTION, live);
    this.unsubscribe = runtime.progress.subscribeChanges((change) => this.onChange(change));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  user(id: string): Promise<UserRow | null> {
    return this.usersById.get(id, () => this.readModel.user(id));
  }

  async memberships(userId: string): Promise<MembershipRow[]> {
    return (
      (await this.membershipsByUser.get(userId, () => this.readModel.memberships(userId))) ?? []
    );
  }

  membership(tenantId: string, userId: string): Promise<MembershipRow | null> {
    return this.membershipByTenantUser.get(`${tenantId}/${userId}`, () =>
      this.readModel.membership(tenantId, userId),
    );
  }

  apiKeyByPrefix(prefix: string): Promise<ApiKeyRow | null> {
    return this.keysByPrefix.get(prefix, () => this.readModel.apiKeyByPrefix(prefix));
  }

  async attachedPolicies(userId: string, tenantId: string): Promise<PolicyRow[]> {
    return (
      (await this.policiesByMember.get(`${tenantId}/${userId}`, () =>
        this.readModel.attachedPolicies(userId, tenantId),
      )) ?? []
    );
  }

  private onChange(change: ReadModelChange): void {
    const { name, events } = change;
    if (name === USERS_PROJECTION) this.usersById.drop();
    else if (name === TENANTS_PROJECTION) {
      this.membershipsByUser.drop();
      this.membershipByTenantUser.drop();
    } else if (name === API_KEYS_PROJECTION) this.keysByPrefix.drop();
    else if (name === POLICIES_PROJECTION && changesAttachments(events)) {
      this.policiesByMember.drop();
    }
  }
}

function changesAttachments(events: readonly RecordedEvent[] | 'unknown'): boolean {
  return events === 'unknown' || events.some((e) => !ATTACHMENT_NEUTRAL.has(e.type));
}
