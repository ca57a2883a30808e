/**
 * The tenant aggregate (stream `tenant-<tenantId>`): name, slug and members with their roles.
 *
 * Invariants kept here: a valid slug; one role per member; a tenant always has an owner (the last
 * owner can be neither removed nor demoted: `invalid_state`); only an owner may grant the owner
 * role or change or remove an owner (`forbidden`), so an admin cannot take a tenant over.
 *
 * Kept outside, by the handler:
 *   - slug uniqueness across tenants: a strict check claims `claim-tenant-slug:<slug>` with the
 *     claim decider (claim.ts) before creating; the tenants read model is the soft, lagging check;
 *   - that the user being added exists (users read model, 404 otherwise);
 *   - that the caller may manage members at all (IAM action `tenant:manageMembers`, in the guard);
 *   - that a tenant one switches to is one of the caller's (`assertMayUseTenant` below, fed from
 *     the memberships read model).
 * TenantCreated is followed by TenantMemberAdded for the owner, so the memberships projection
 * handles a single event type for every member.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { iso, nameProblem, throwIfInvalid, type FieldProblem } from './validation';

export const TENANT_CATEGORY = 'tenant';

export const TENANT_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

export function isTenantRole(value: unknown): value is TenantRole {
  return typeof value === 'string' && (TENANT_ROLES as readonly string[]).includes(value);
}

export const SLUG_RULE =
  'a slug is 3 to 63 characters of lower-case letters, digits and hyphens, and neither starts nor ends with a hyphen';

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;

export function isValidSlug(slug: string): boolean {
  return SLUG_RE.test(slug);
}

export interface CreateTenant {
  type: 'CreateTenant';
  tenantId: string;
  name: string;
  slug: string;
  ownerId: string;
  now: Date;
}

/** `actorUserId` is the caller (null for the system, e.g. the tenant created at registration). */
export interface AddTenantMember {
  type: 'AddTenantMember';
  userId: string;
  role: TenantRole;
  actorUserId: string | null;
  now: Date;
}

export interface ChangeTenantMemberRole {
  type: 'ChangeTenantMemberRole';
  userId: string;
  role: TenantRole;
  actorUserId: string | null;
  now: Date;
}

export interface RemoveTenantMember {
  type: 'RemoveTenantMember';
  userId: string;
  actorUserId: string | null;
  now: Date;
}

export type TenantCommand =
  CreateTenant | AddTenantMember | ChangeTenantMemberRole | RemoveTenantMember;

export type TenantEvent =
  | {
      type: 'TenantCreated';
      data: { tenantId: string; name: string; slug: string; ownerId: string; createdAt: string };
    }
  | {
      type: 'TenantMemberAdded';
      data: { tenantId: string; userId: string; role: TenantRole; at: string };
    }
  | {
      type: 'TenantMemberRoleChanged';
      data: { tenantId: string; userId: string; from: TenantRole; to: TenantRole; at: string };
    }
  | {
      type: 'TenantMemberRemoved';
      data: { tenantId: string; userId: string; role: TenantRole; at: string };
    };

export interface TenantState {
  exists: boolean;
  tenantId: string | null;
  slug: string | null;
  /** userId -> role */
  members: Readonly<Record<string, TenantRole>>;
}

export function initialTenantState(): TenantState {
  return { exists: false, tenantId: null, slug: null, members: {} };
}

export function evolveTenant(state: TenantState, event: TenantEvent): TenantState {
  switch (event.type) {
    case 'TenantCreated':
      return { exists: true, tenantId: event.data.tenantId, slug: event.data.slug, members: {} };
    case 'TenantMemberAdded':
      return { ...state, members: { ...state.members, [event.data.userId]: event.data.role } };
    case 'TenantMemberRoleChanged':
      return { ...state, members: { ...state.members, [event.data.userId]: event.data.to } };
    case 'TenantMemberRemoved': {
      const members = { ...state.members };
      delete members[event.data.userId];
      return { ...state, members };
    }
    default:
      return state;
  }
}

function requireTenant(state: TenantState): string {
  if (!state.exists || state.tenantId === null)
    throw AppError.notFound('tenant', state.tenantId ?? 'unknown');
  return state.tenantId;
}

function roleProblem(role: unknown): FieldProblem[] {
  return isTenantRole(role)
    ? []
    : [{ path: 'role', message: `must be one of ${TENANT_ROLES.join(', ')}` }];
}

function ownerCount(state: TenantState): number {
  return Object.values(state.members).filter((r) => r === 'owner').length;
}

/** Granting, changing or removing the owner role is for owners only. */
function assertMayTouchOwnership(
  state: TenantState,
  actorUserId: string | null,
  touchesOwner: boolean,
): void {
  if (!touchesOwner || actorUserId === null) return;
  if (state.members[actorUserId] !== 'owner') {
    throw new AppError(
      'forbidden',
      'only an owner of the tenant can grant, change or remove the owner role',
    );
  }
}

function requireMember(state: TenantState, tenantId: string, userId: string): TenantRole {
  const role = state.members[userId];
  if (role === undefined) {
    throw new AppError('not_found', `user ${userId} is not a member of tenant ${tenantId}`, {
      resource: 'tenant member',
      id: userId,
    });
  }
  return role;
}

function create(command: CreateTenant, state: TenantState): TenantEvent[] {
  if (state.exists) {
    throw new AppError('conflict', `tenant ${command.tenantId} already exists`, {
      id: command.tenantId,
    });
  }
  const problems: FieldProblem[] = [];
  const nameIssue = nameProblem(command.name);
  if (nameIssue) problems.push({ path: 'name', message: nameIssue });
  if (typeof command.slug !== 'string' || !isValidSlug(command.slug)) {
    problems.push({ path: 'slug', message: SLUG_RULE });
  }
  throwIfInvalid(problems);
  const at = iso(command.now);
  return [
    {
      type: 'TenantCreated',
      data: {
        tenantId: command.tenantId,
        name: command.name.trim(),
        slug: command.slug,
        ownerId: command.ownerId,
        createdAt: at,
      },
    },
    {
      type: 'TenantMemberAdded',
      data: { tenantId: command.tenantId, userId: command.ownerId, role: 'owner', at },
    },
  ];
}

function decideTenant(command: TenantCommand, state: TenantState): TenantEvent[] {
  switch (command.type) {
    case 'CreateTenant':
      return create(command, state);
    case 'AddTenantMember': {
      const tenantId = requireTenant(state);
      throwIfInvalid(roleProblem(command.role));
      if (state.members[command.userId] !== undefined) {
        throw new AppError(
          'conflict',
          `user ${command.userId} is already a member; change their role instead`,
          {
            user_id: command.userId,
            role: state.members[command.userId],
          },
        );
      }
      assertMayTouchOwnership(state, command.actorUserId, command.role === 'owner');
      return [
        {
          type: 'TenantMemberAdded',
          data: { tenantId, userId: command.userId, role: command.role, at: iso(command.now) },
        },
      ];
    }
    case 'ChangeTenantMemberRole': {
      const tenantId = requireTenant(state);
      throwIfInvalid(roleProblem(command.role));
      const from = requireMember(state, tenantId, command.userId);
      if (from === command.role) return [];
      assertMayTouchOwnership(
        state,
        command.actorUserId,
        from === 'owner' || command.role === 'owner',
      );
      if (from === 'owner' && ownerCount(state) === 1) {
        throw AppError.invalidState(
          'the last owner of a tenant cannot be demoted; make another member owner first',
          {
            user_id: command.userId,
          },
        );
      }
      return [
        {
          type: 'TenantMemberRoleChanged',
          data: { tenantId, userId: command.userId, from, to: command.role, at: iso(command.now) },
        },
      ];
    }
    case 'RemoveTenantMember': {
      const tenantId = requireTenant(state);
      const role = requireMember(state, tenantId, command.userId);
      assertMayTouchOwnership(state, command.actorUserId, role === 'owner');
      if (role === 'owner' && ownerCount(state) === 1) {
        throw AppError.invalidState(
          'the last owner of a tenant cannot be removed; make another member owner first',
          {
            user_id: command.userId,
          },
        );
      }
      return [
        {
          type: 'TenantMemberRemoved',
          data: { tenantId, userId: command.userId, role, at: iso(command.now) },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown tenant command ${JSON.stringify(unknown)}`);
    }
  }
}

export const tenantDecider: Decider<TenantCommand, TenantEvent, TenantState> = {
  category: TENANT_CATEGORY,
  initialState: initialTenantState,
  evolve: evolveTenant,
  decide: decideTenant,
};

export interface TenantMembership {
  tenantId: string;
  role: TenantRole;
}

/** The caller's role in `tenantId`, or null when they are not a member. */
export function roleInTenant(
  memberships: readonly TenantMembership[],
  tenantId: string,
): TenantRole | null {
  return memberships.find((m) => m.tenantId === tenantId)?.role ?? null;
}

/**
 * For switching tenants and for `X-Tenant-ID`: the caller's role there, or 404 not_found (a tenant
 * one does not belong to looks the same as one that does not exist).
 */
export function assertMayUseTenant(
  memberships: readonly TenantMembership[],
  tenantId: string,
): TenantRole {
  const role = roleInTenant(memberships, tenantId);
  if (role === null) throw AppError.notFound('tenant', tenantId);
  return role;
}
