/**
 * Tenants as the tenant use cases (`./*.ts`, one file each) and registration share them: creation
 * (slug claimed first), listing, one tenant as its member sees it.
 */
import { Injectable } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor, type ExecutionResult } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { claimDecider, tenantSlugClaimId } from '../../domain/claim';
import {
  isValidSlug,
  SLUG_RULE,
  tenantDecider,
  type TenantEvent,
  type TenantRole,
  type TenantState,
} from '../../domain/tenant';
import { Clock } from '../../../platform/clock';
import { IdentityReadModel, type TenantRow } from '../../read-model/identity-read-model';
import { stepContext } from '../context';
import { randomBase62 } from '../../crypto/encoding';

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
    private readonly clock: Clock,
  ) {}

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
