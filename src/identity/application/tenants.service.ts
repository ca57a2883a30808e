/**
 * Tenants: creation (slug claimed first), listing, switching the default, adding members,
 * changing their roles and removing them.
 */
import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor, type ExecutionResult } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { TENANTS_PROJECTION, USERS_PROJECTION } from '../../../projections/identity';
import { claimDecider, tenantSlugClaimId } from '../domain/claim';
import {
  assertMayUseTenant,
  isValidSlug,
  SLUG_RULE,
  tenantDecider,
  type TenantEvent,
  type TenantRole,
  type TenantState,
} from '../domain/tenant';
import { userDecider } from '../domain/user';
import { IdentityClock } from '../identity.tokens';
import { IdentityReadModel, type TenantRow } from '../read-model/identity-read-model';
import { derivedId, stepContext } from './context';
import { randomBase62 } from '../crypto/encoding';

export interface TenantView {
  id: string;
  name: string;
  slug: string;
  owner_id: string;
  role: TenantRole | null;
  is_default: boolean;
  created_at: string;
  revision: string;
}

export const PERSONAL_TENANT_NAME = 'Personal workspace';

@Injectable()
export class TenantsService {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly waiter: ProjectionWaiter,
    private readonly clock: IdentityClock,
  ) {}

  async waitFor(position: Position | null, projections: string[]): Promise<boolean> {
    if (!position) return true;
    return this.waiter.waitFor(position, projections, this.waiter.readYourWritesTimeoutMs);
  }

  /**
   * The tenant created with an account. Its name and slug hold no personal data (events keep them
   * in clear): `personal-<8 hex of the user id>`, with a random suffix if that is taken.
   */
  async createPersonalTenant(
    userId: string,
    tenantId: string,
    ctx: CommandContext,
  ): Promise<ExecutionResult<TenantEvent, TenantState>> {
    const base = `personal-${userId.replace(/-/g, '').slice(0, 8)}`;
    for (let attempt = 0; ; attempt++) {
      const slug = attempt === 0 ? base : `${base}-${randomBase62(4).toLowerCase()}`;
      try {
        return await this.create(
          { tenantId, name: PERSONAL_TENANT_NAME, slug, ownerId: userId, actorUserId: null },
          ctx,
        );
      } catch (err) {
        if (
          !(
            err instanceof AppError &&
            err.code === 'conflict' &&
            err.details?.field === 'tenant-slug'
          ) ||
          attempt >= 4
        )
          throw err;
      }
    }
  }

  /** Claims the slug, then creates the tenant with its owner; releases the claim on failure. */
  async create(
    input: {
      tenantId: string;
      name: string;
      slug: string;
      ownerId: string;
      actorUserId: string | null;
    },
    ctx: CommandContext,
  ): Promise<ExecutionResult<TenantEvent, TenantState>> {
    if (!isValidSlug(input.slug)) {
      throw AppError.validation(`slug: ${SLUG_RULE}`, [{ path: 'slug', message: SLUG_RULE }]);
    }
    const now = this.clock.now();
    const claimId = tenantSlugClaimId(input.slug);
    const tenantCtx = { tenantId: input.tenantId };
    await this.executor.execute(
      claimDecider,
      claimId,
      { type: 'ClaimValue', claimId, ownerId: input.tenantId, now },
      stepContext(ctx, `claim-slug-${input.slug}`, tenantCtx),
    );
    try {
      return await this.executor.execute(
        tenantDecider,
        input.tenantId,
        {
          type: 'CreateTenant',
          tenantId: input.tenantId,
          name: input.name,
          slug: input.slug,
          ownerId: input.ownerId,
          now,
        },
        stepContext(ctx, 'create-tenant', tenantCtx),
      );
    } catch (err) {
      const tenant = await this.executor.load(tenantDecider, input.tenantId);
      if (!tenant.exists) {
        await this.executor
          .execute(
            claimDecider,
            claimId,
            { type: 'ReleaseValue', claimId, ownerId: input.tenantId, now },
            stepContext(ctx, `release-slug-${input.slug}`, tenantCtx),
          )
          .catch(() => undefined);
      }
      throw err;
    }
  }

  async createForUser(
    userId: string,
    body: { name: string; slug: string },
    ctx: CommandContext,
  ): Promise<{ tenantId: string; position: Position | null }> {
    const tenantId = derivedId(ctx, 'tenant');
    const result = await this.create(
      { tenantId, name: body.name, slug: body.slug, ownerId: userId, actorUserId: userId },
      ctx,
    );
    return { tenantId, position: result.position };
  }

  async list(userId: string, defaultTenantId: string | null): Promise<TenantView[]> {
    const rows = await this.readModel.tenantsOf(userId);
    return rows.map((t) => toTenantView(t, t.role, t.id === defaultTenantId));
  }

  async view(tenantId: string, userId: string): Promise<TenantView> {
    const [tenant, membership, user] = await Promise.all([
      this.readModel.tenant(tenantId),
      this.readModel.membership(tenantId, userId),
      this.readModel.user(userId),
    ]);
    if (!tenant || !membership) throw AppError.notFound('tenant', tenantId);
    return toTenantView(tenant, membership.role, user?.default_tenant_id === tenantId);
  }

  async switchDefault(
    userId: string,
    tenantId: string,
    ctx: CommandContext,
  ): Promise<Position | null> {
    const memberships = await this.readModel.memberships(userId);
    assertMayUseTenant(
      memberships.map((m) => ({ tenantId: m.tenant_id, role: m.role })),
      tenantId,
    );
    const result = await this.executor.execute(
      userDecider,
      userId,
      { type: 'SwitchDefaultTenant', tenantId, now: this.clock.now() },
      stepContext(ctx, 'switch-tenant', { tenantId }),
    );
    await this.waitFor(result.position, [USERS_PROJECTION]);
    return result.position;
  }

  async addMember(
    tenantId: string,
    actorUserId: string,
    body: { user_id: string; role: TenantRole },
    ctx: CommandContext,
  ): Promise<{ position: Position | null; revision: bigint }> {
    const user = await this.readModel.user(body.user_id);
    if (!user || user.status !== 'active') throw AppError.notFound('user', body.user_id);
    const result = await this.executor.execute(
      tenantDecider,
      tenantId,
      {
        type: 'AddTenantMember',
        userId: body.user_id,
        role: body.role,
        actorUserId,
        now: this.clock.now(),
      },
      stepContext(ctx, 'add-member'),
    );
    await this.waitFor(result.position, [TENANTS_PROJECTION]);
    return { position: result.position, revision: result.revision };
  }

  /**
   * A member's new role. The decider refuses demoting the last owner (409 invalid_state) and lets
   * only owners grant or take away the owner role (403 forbidden); not a member: 404.
   */
  async changeMemberRole(
    tenantId: string,
    actorUserId: string,
    memberUserId: string,
    role: TenantRole,
    ctx: CommandContext,
  ): Promise<{ revision: bigint }> {
    const result = await this.executor.execute(
      tenantDecider,
      tenantId,
      {
        type: 'ChangeTenantMemberRole',
        userId: memberUserId,
        role,
        actorUserId,
        now: this.clock.now(),
      },
      stepContext(ctx, 'change-member-role'),
    );
    // The guard reads roles from this read model: the new role applies from the next request.
    await this.waitFor(result.position, [TENANTS_PROJECTION]);
    return { revision: result.revision };
  }

  /** Removes a member (same owner rules as changeMemberRole); their access ends on answer. */
  async removeMember(
    tenantId: string,
    actorUserId: string,
    memberUserId: string,
    ctx: CommandContext,
  ): Promise<void> {
    const result = await this.executor.execute(
      tenantDecider,
      tenantId,
      { type: 'RemoveTenantMember', userId: memberUserId, actorUserId, now: this.clock.now() },
      stepContext(ctx, 'remove-member'),
    );
    await this.waitFor(result.position, [TENANTS_PROJECTION]);
  }
}

function toTenantView(t: TenantRow, role: TenantRole | null, isDefault: boolean): TenantView {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    owner_id: t.owner_id,
    role,
    is_default: isDefault,
    created_at: t.created_at.toISOString(),
    revision: String(t.revision),
  };
}
