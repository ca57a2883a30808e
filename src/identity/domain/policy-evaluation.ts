/**
 * IAM policy evaluation: one pure function the auth guard calls for every request.
 *
 * Order (first that applies wins):
 *   1. an explicit Deny in any attached policy whose action and resource match;
 *   2. an explicit Allow in any attached policy whose action and resource match;
 *   3. the defaults of the caller's role(s) in the tenant (ROLE_DEFAULTS), which look at the action
 *      only (tenant isolation of resources is the read models' job);
 *   4. otherwise deny.
 * A malformed action or resource is denied before anything else.
 *
 * Consequence worth knowing: an explicit Deny binds owners too, so a policy denying `iam:*`
 * attached to every owner locks the tenant's IAM administration; the IAM controllers should refuse
 * such an attachment or keep an operator escape hatch.
 */
import {
  actionMatches,
  isConcreteAction,
  isRequestResource,
  resourceMatches,
} from './iam-patterns';
import type { PolicyStatement } from './policy';
import type { TenantRole } from './tenant';

export interface RoleDefaults {
  /** Action patterns the role may perform... */
  allow: readonly string[];
  /** ...except these. */
  deny: readonly string[];
}

/** Identity, tenant and IAM administration: for owners and admins only by default. */
export const ADMINISTRATION_ACTIONS: readonly string[] = [
  'iam:*',
  'tenant:manage*',
  'billing:manage*',
];

/**
 * Read actions: viewers may perform exactly these verbs on every service. Name an action
 * `list`/`get`/`describe`/`read` only if it reveals nothing secret (a connection string with a
 * password is not a `get`).
 */
export const READ_ACTIONS: readonly string[] = ['*:list', '*:get', '*:describe', '*:read'];

/**
 * Reads that reveal a secret although named like reads: a viewer is denied them unless a policy
 * allows them explicitly (a role's deny is a default, not an explicit Deny).
 */
export const SECRET_READ_ACTIONS: readonly string[] = ['secrets:read'];

export const ROLE_DEFAULTS: Readonly<Record<TenantRole, RoleDefaults>> = {
  owner: { allow: ['*'], deny: [] },
  admin: { allow: ['*'], deny: [] },
  member: { allow: ['*'], deny: ADMINISTRATION_ACTIONS },
  viewer: { allow: READ_ACTIONS, deny: [...ADMINISTRATION_ACTIONS, ...SECRET_READ_ACTIONS] },
};

export interface AttachedPolicy {
  policyId: string;
  name?: string;
  statements: readonly PolicyStatement[];
}

export interface EvaluationRequest {
  /** The caller's role(s) in the tenant the request is scoped to; empty for none. */
  roles: readonly TenantRole[];
  /** The policies attached to the caller in that tenant. */
  policies: readonly AttachedPolicy[];
  /** A concrete action, `service:name`. */
  action: string;
  /** `*` or a concrete ARN (see iam-patterns.ts isRequestResource). */
  resource: string;
}

export type EvaluationReason =
  | 'explicit_deny'
  | 'explicit_allow'
  | 'role_default_allow'
  | 'role_default_deny'
  | 'implicit_deny'
  | 'invalid_request';

export interface EvaluationResult {
  decision: 'allow' | 'deny';
  reason: EvaluationReason;
  /** The statement that decided, for explicit decisions (audit and error details). */
  statement?: { policyId: string; policyName?: string; index: number };
  /** The role whose defaults decided, for role decisions. */
  role?: TenantRole;
  /** One sentence for humans (error messages, audit). */
  explanation: string;
}

function findStatement(
  policies: readonly AttachedPolicy[],
  effect: PolicyStatement['effect'],
  action: string,
  resource: string,
): EvaluationResult['statement'] | undefined {
  for (const policy of policies) {
    for (let index = 0; index < policy.statements.length; index++) {
      const s = policy.statements[index];
      if (
        s.effect === effect &&
        s.action.some((p) => actionMatches(p, action)) &&
        s.resource.some((p) => resourceMatches(p, resource))
      ) {
        return { policyId: policy.policyId, policyName: policy.name, index };
      }
    }
  }
  return undefined;
}

/** Whether the role's defaults allow `action` (a concrete action). */
export function roleAllows(role: TenantRole, action: string): boolean {
  const defaults = ROLE_DEFAULTS[role];
  return (
    defaults.allow.some((p) => actionMatches(p, action)) &&
    !defaults.deny.some((p) => actionMatches(p, action))
  );
}

export function evaluate(request: EvaluationRequest): EvaluationResult {
  const { action, resource, policies, roles } = request;
  if (!isConcreteAction(action)) {
    return {
      decision: 'deny',
      reason: 'invalid_request',
      explanation: `"${action}" is not a valid action`,
    };
  }
  if (!isRequestResource(resource)) {
    return {
      decision: 'deny',
      reason: 'invalid_request',
      explanation: `"${resource}" is not a valid resource`,
    };
  }
  const denied = findStatement(policies, 'Deny', action, resource);
  if (denied) {
    return {
      decision: 'deny',
      reason: 'explicit_deny',
      statement: denied,
      explanation: `${action} is denied by statement ${denied.index} of policy ${denied.policyName ?? denied.policyId}`,
    };
  }
  const allowed = findStatement(policies, 'Allow', action, resource);
  if (allowed) {
    return {
      decision: 'allow',
      reason: 'explicit_allow',
      statement: allowed,
      explanation: `${action} is allowed by statement ${allowed.index} of policy ${allowed.policyName ?? allowed.policyId}`,
    };
  }
  const allowingRole = roles.find((role) => roleAllows(role, action));
  if (allowingRole) {
    return {
      decision: 'allow',
      reason: 'role_default_allow',
      role: allowingRole,
      explanation: `the ${allowingRole} role may perform ${action}`,
    };
  }
  if (roles.length > 0) {
    return {
      decision: 'deny',
      reason: 'role_default_deny',
      role: roles[0],
      explanation: `the ${roles.join('/')} role may not perform ${action}`,
    };
  }
  return { decision: 'deny', reason: 'implicit_deny', explanation: `nothing allows ${action}` };
}
