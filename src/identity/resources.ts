/**
 * Identity's resource families: users, API keys, tenants, IAM policies, uniqueness claims and
 * denied requests. What the audit log, the timeline, point-in-time state and the event feed know
 * about them; each `events` table names every event type its writer emits.
 */
import type { AuditableEvent } from '../audit/domain/actions';
import {
  audited,
  emittedBy,
  notAudited,
  resourceKind,
  type KindEvent,
} from '../platform/resources/resource-kind';
import {
  apiKeyDecider,
  claimDecider,
  evolveApiKey,
  evolvePolicy,
  evolveTenant,
  initialApiKeyState,
  initialPolicyState,
  initialTenantState,
  policyDecider,
  tenantDecider,
  userDecider,
  type ApiKeyEvent,
  type PolicyEvent,
  type TenantEvent,
} from './domain';

const data = (e: KindEvent): Record<string, unknown> => (e.data ?? {}) as Record<string, unknown>;

export const USERS = resourceKind(userDecider, {
  context: 'identity',
  family: 'user',
  readModel: 'identity_users',
  actions: {
    USER_REGISTER: 'A user account was registered.',
    USER_LOGIN: 'A user signed in (or failed to).',
    USER_LOCK: 'An account was locked after repeated failed sign-ins.',
    USER_SESSIONS_REVOKE: "A user's sessions were revoked (logout, password change).",
    USER_PASSWORD_CHANGE: 'A user changed their password.',
    USER_PASSWORD_RESET_REQUEST: 'A password reset was requested.',
    USER_PASSWORD_RESET: 'A password was reset with a reset token.',
    TOKEN_REFRESH: 'A refresh token was exchanged for a new token pair.',
    TOKEN_FAMILY_REVOKE:
      'A refresh token family was revoked (reuse of a revoked token or sign-out).',
    TENANT_SWITCH: "A user's default tenant was changed.",
    USER_ERASE: 'A user was erased (personal data crypto-shredded).',
  },
  events: {
    UserRegistered: audited('USER_REGISTER'),
    LoginSucceeded: audited('USER_LOGIN'),
    LoginFailed: audited('USER_LOGIN', 'failure'),
    AccountLocked: audited('USER_LOCK'),
    PasswordHashUpgraded: notAudited('internal re-hash on sign-in'),
    PasswordChanged: audited('USER_PASSWORD_CHANGE'),
    ResetTokenIssued: audited('USER_PASSWORD_RESET_REQUEST'),
    PasswordReset: audited('USER_PASSWORD_RESET'),
    SessionsRevoked: audited('USER_SESSIONS_REVOKE'),
    RefreshTokenIssued: notAudited('part of USER_LOGIN or TOKEN_REFRESH'),
    RefreshTokenRotated: audited('TOKEN_REFRESH'),
    RefreshTokenFamilyRevoked: audited('TOKEN_FAMILY_REVOKE'),
    DefaultTenantChanged: audited('TENANT_SWITCH'),
    UserErased: audited('USER_ERASE'),
  },
});

export const API_KEYS = resourceKind(apiKeyDecider, {
  context: 'identity',
  family: 'api_key',
  readModel: 'identity_api_keys',
  actions: {
    API_KEY_CREATE: 'An API key was created.',
    API_KEY_ROTATE: 'An API key was rotated (the old secret stops working).',
    API_KEY_REVOKE: 'An API key was revoked.',
  },
  events: {
    ApiKeyCreated: audited('API_KEY_CREATE'),
    ApiKeyRotated: audited('API_KEY_ROTATE'),
    ApiKeyRevoked: audited('API_KEY_REVOKE'),
  },
  pointInTime: {
    field: 'api_keys',
    initial: initialApiKeyState,
    evolve: (s, e) => evolveApiKey(s, e as ApiKeyEvent),
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
  },
});

export const TENANTS = resourceKind(tenantDecider, {
  context: 'identity',
  family: 'tenant',
  readModel: 'identity_tenants',
  actions: {
    TENANT_CREATE: 'A tenant was created.',
    TENANT_MEMBER_ADD: 'A member was added to a tenant.',
    TENANT_MEMBER_ROLE_CHANGE: "A tenant member's role was changed.",
    TENANT_MEMBER_REMOVE: 'A member was removed from a tenant.',
  },
  events: {
    TenantCreated: audited('TENANT_CREATE'),
    TenantMemberAdded: audited('TENANT_MEMBER_ADD'),
    TenantMemberRoleChanged: audited('TENANT_MEMBER_ROLE_CHANGE'),
    TenantMemberRemoved: audited('TENANT_MEMBER_REMOVE'),
  },
  pointInTime: {
    field: 'tenant',
    single: true,
    initial: initialTenantState,
    evolve: (s, e) => evolveTenant(s, e as TenantEvent),
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
  },
});

export const POLICIES = resourceKind(policyDecider, {
  context: 'identity',
  family: 'policy',
  readModel: 'identity_policies',
  actions: {
    IAM_POLICY_CREATE: 'An IAM policy was created.',
    IAM_POLICY_DELETE: 'An IAM policy was deleted.',
    IAM_POLICY_ATTACH: 'An IAM policy was attached to a user.',
    IAM_POLICY_DETACH: 'An IAM policy was detached from a user.',
  },
  events: {
    PolicyCreated: audited('IAM_POLICY_CREATE'),
    PolicyDeleted: audited('IAM_POLICY_DELETE'),
    PolicyAttachedToUser: audited('IAM_POLICY_ATTACH'),
    PolicyDetachedFromUser: audited('IAM_POLICY_DETACH'),
  },
  pointInTime: {
    field: 'policies',
    initial: initialPolicyState,
    evolve: (s, e) => evolvePolicy(s, e as PolicyEvent),
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
  },
});

const CLAIM = 'uniqueness claim (internal)';

export const CLAIMS = resourceKind(claimDecider, {
  context: 'identity',
  family: 'claim',
  readModel: null,
  actions: {},
  events: { ValueClaimed: notAudited(CLAIM), ValueReleased: notAudited(CLAIM) },
});

const ACTION_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

function text(event: AuditableEvent, key: string): string | null {
  const value = (event.data as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : null;
}

/** `AccessDenied` is written by the auth guard (auth/access-denied.recorder.ts), not a decider. */
export const ACCESS_DENIALS = resourceKind(
  emittedBy<{ type: 'AccessDenied'; data: unknown }>('access'),
  {
    context: 'identity',
    family: 'access',
    readModel: null,
    actions: {
      ACCESS_DENIED:
        'A request was refused (401, 403 or 429 on an authenticated route, or by the S3 endpoint).',
    },
    events: { AccessDenied: audited('ACCESS_DENIED', 'denied') },
    audit: {
      // The refused action and resource, or the route when the request named none.
      actionOf: (e) => {
        const action = text(e, 'action');
        return action && ACTION_NAME.test(action) ? action : 'ACCESS_DENIED';
      },
      resourceOf: (e) => {
        const resource = text(e, 'resource');
        if (resource) return resource;
        const path = text(e, 'path');
        const method = text(e, 'method');
        return path ? `route/${method ? `${method} ` : ''}${path}` : 'route/unknown';
      },
    },
  },
);

export const IDENTITY_RESOURCE_KINDS = [USERS, API_KEYS, TENANTS, POLICIES, CLAIMS, ACCESS_DENIALS];
