import { describe, expect, it } from 'vitest';
import { IAM_ACTIONS, IamActionCatalog, accessLevelOf } from './iam-actions';
import { actionMatches, arnFor, globMatch, resourceMatches } from './iam-patterns';
import type { PolicyStatement } from './policy';
import {
  ROLE_DEFAULTS,
  evaluate,
  type AttachedPolicy,
  type EvaluationReason,
} from './policy-evaluation';
import type { TenantRole } from './tenant';

const T = '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f';
const OTHER = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const instance = (id: string, tenant = T) => arnFor('compute', tenant, 'instance', id);
const bucket = (id: string, tenant = T) => arnFor('storage', tenant, 'bucket', id);

const policy = (policyId: string, ...statements: PolicyStatement[]): AttachedPolicy => ({
  policyId,
  name: policyId,
  statements,
});
const allow = (action: string[], resource: string[] = ['*']): PolicyStatement => ({
  effect: 'Allow',
  action,
  resource,
});
const deny = (action: string[], resource: string[] = ['*']): PolicyStatement => ({
  effect: 'Deny',
  action,
  resource,
});

interface Row {
  case: string;
  roles: TenantRole[];
  policies: AttachedPolicy[];
  action: string;
  resource: string;
  decision: 'allow' | 'deny';
  reason: EvaluationReason;
}

const rows: Row[] = [
  // role defaults
  {
    case: 'owner may do anything',
    roles: ['owner'],
    policies: [],
    action: 'iam:createPolicy',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'admin may administer IAM',
    roles: ['admin'],
    policies: [],
    action: 'iam:attachUserPolicy',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'admin may manage billing',
    roles: ['admin'],
    policies: [],
    action: 'billing:manageBudgets',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'member may launch',
    roles: ['member'],
    policies: [],
    action: 'compute:launch',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'member may read',
    roles: ['member'],
    policies: [],
    action: 'storage:get',
    resource: bucket('b1'),
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'member may not administer IAM',
    roles: ['member'],
    policies: [],
    action: 'iam:listPolicies',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'member may not manage members',
    roles: ['member'],
    policies: [],
    action: 'tenant:manageMembers',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'member may not manage billing',
    roles: ['member'],
    policies: [],
    action: 'billing:manageBudgets',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'member may read billing',
    roles: ['member'],
    policies: [],
    action: 'billing:get',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'viewer may list',
    roles: ['viewer'],
    policies: [],
    action: 'compute:list',
    resource: instance('*'),
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'viewer may get',
    roles: ['viewer'],
    policies: [],
    action: 'compute:get',
    resource: instance('i-1'),
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'viewer may describe',
    roles: ['viewer'],
    policies: [],
    action: 'network:describe',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'viewer may read',
    roles: ['viewer'],
    policies: [],
    action: 'storage:read',
    resource: bucket('b1'),
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: "viewer may not read a secret's value (secrets:read reveals the secret)",
    roles: ['viewer'],
    policies: [],
    action: 'secrets:read',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: "member may read a secret's value",
    roles: ['member'],
    policies: [],
    action: 'secrets:read',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'viewer may not launch',
    roles: ['viewer'],
    policies: [],
    action: 'compute:launch',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'viewer may not delete',
    roles: ['viewer'],
    policies: [],
    action: 'storage:delete',
    resource: bucket('b1'),
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'viewer read verbs are exact (getConnectionString is not a get)',
    roles: ['viewer'],
    policies: [],
    action: 'database:getConnectionString',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'viewer may not list IAM policies',
    roles: ['viewer'],
    policies: [],
    action: 'iam:list',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },
  {
    case: 'no role and no policy: implicit deny',
    roles: [],
    policies: [],
    action: 'compute:list',
    resource: '*',
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'several roles: any that allows',
    roles: ['viewer', 'member'],
    policies: [],
    action: 'compute:launch',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'an action no catalog declares still follows the role',
    roles: ['owner'],
    policies: [],
    action: 'quantum:entangle',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },
  {
    case: 'an undeclared action for a viewer is denied',
    roles: ['viewer'],
    policies: [],
    action: 'quantum:entangle',
    resource: '*',
    decision: 'deny',
    reason: 'role_default_deny',
  },

  // explicit allow
  {
    case: 'allow lifts a viewer',
    roles: ['viewer'],
    policies: [policy('p', allow(['compute:launch']))],
    action: 'compute:launch',
    resource: '*',
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow lifts a member into IAM',
    roles: ['member'],
    policies: [policy('p', allow(['iam:listPolicies']))],
    action: 'iam:listPolicies',
    resource: '*',
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow with service wildcard',
    roles: [],
    policies: [policy('p', allow(['compute:*']))],
    action: 'compute:terminate',
    resource: instance('i-1'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow with star',
    roles: [],
    policies: [policy('p', allow(['*']))],
    action: 'storage:delete',
    resource: bucket('b1'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow with verb prefix wildcard',
    roles: [],
    policies: [policy('p', allow(['storage:get*']))],
    action: 'storage:getObject',
    resource: '*',
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow with any-service verb',
    roles: [],
    policies: [policy('p', allow(['*:list']))],
    action: 'network:list',
    resource: '*',
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'actions are case-insensitive',
    roles: [],
    policies: [policy('p', allow(['Storage:List']))],
    action: 'storage:list',
    resource: '*',
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'allow of another service does not match',
    roles: [],
    policies: [policy('p', allow(['compute:*']))],
    action: 'storage:list',
    resource: '*',
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'service wildcard does not cross the colon',
    roles: [],
    policies: [policy('p', allow(['comp*']))],
    action: 'compute:list',
    resource: '*',
    decision: 'deny',
    reason: 'implicit_deny',
  },

  // ARN matching
  {
    case: 'exact ARN',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [instance('i-1')]))],
    action: 'compute:stop',
    resource: instance('i-1'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'exact ARN of another instance',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [instance('i-1')]))],
    action: 'compute:stop',
    resource: instance('i-2'),
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'id wildcard',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [instance('*')]))],
    action: 'compute:stop',
    resource: instance('i-2'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'id prefix wildcard',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [instance('web-*')]))],
    action: 'compute:stop',
    resource: instance('web-01'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'id prefix wildcard, no match',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [instance('web-*')]))],
    action: 'compute:stop',
    resource: instance('db-01'),
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'tenant wildcard',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], ['arn:nimbus:compute:*:instance/*']))],
    action: 'compute:stop',
    resource: instance('i-9', OTHER),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'other tenant does not match',
    roles: [],
    policies: [policy('p', allow(['compute:stop'], [`arn:nimbus:compute:${T}:instance/*`]))],
    action: 'compute:stop',
    resource: instance('i-9', OTHER),
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'type mismatch',
    roles: [],
    policies: [policy('p', allow(['*'], [`arn:nimbus:compute:${T}:volume/*`]))],
    action: 'compute:stop',
    resource: instance('i-1'),
    decision: 'deny',
    reason: 'implicit_deny',
  },
  {
    case: 'service wildcard in ARN',
    roles: [],
    policies: [policy('p', allow(['*'], [`arn:nimbus:*:${T}:*`]))],
    action: 'storage:delete',
    resource: bucket('b1'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'nested ids match across slashes',
    roles: [],
    policies: [policy('p', allow(['storage:get'], [`arn:nimbus:storage:${T}:object/logs/*`]))],
    action: 'storage:get',
    resource: arnFor('storage', T, 'object', 'logs/2026/01/a.txt'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'a resource-scoped allow does not cover "*" requests',
    roles: [],
    policies: [policy('p', allow(['compute:launch'], [instance('*')]))],
    action: 'compute:launch',
    resource: '*',
    decision: 'deny',
    reason: 'implicit_deny',
  },

  // deny wins
  {
    case: 'deny beats allow in the same policy',
    roles: [],
    policies: [policy('p', allow(['*']), deny(['storage:delete']))],
    action: 'storage:delete',
    resource: bucket('b1'),
    decision: 'deny',
    reason: 'explicit_deny',
  },
  {
    case: 'deny beats allow across policies',
    roles: [],
    policies: [
      policy('a', allow(['storage:*'])),
      policy('d', deny(['storage:*'], [bucket('prod-*')])),
    ],
    action: 'storage:delete',
    resource: bucket('prod-logs'),
    decision: 'deny',
    reason: 'explicit_deny',
  },
  {
    case: 'deny on other resources leaves allow',
    roles: [],
    policies: [
      policy('a', allow(['storage:*'])),
      policy('d', deny(['storage:*'], [bucket('prod-*')])),
    ],
    action: 'storage:delete',
    resource: bucket('dev-logs'),
    decision: 'allow',
    reason: 'explicit_allow',
  },
  {
    case: 'deny beats the owner role',
    roles: ['owner'],
    policies: [policy('d', deny(['compute:terminate']))],
    action: 'compute:terminate',
    resource: instance('i-1'),
    decision: 'deny',
    reason: 'explicit_deny',
  },
  {
    case: 'deny with star',
    roles: ['admin'],
    policies: [policy('d', deny(['*']))],
    action: 'compute:list',
    resource: '*',
    decision: 'deny',
    reason: 'explicit_deny',
  },
  {
    case: 'deny of another action leaves role default',
    roles: ['member'],
    policies: [policy('d', deny(['compute:terminate']))],
    action: 'compute:launch',
    resource: '*',
    decision: 'allow',
    reason: 'role_default_allow',
  },

  // malformed requests
  {
    case: 'malformed action',
    roles: ['owner'],
    policies: [],
    action: 'launch',
    resource: '*',
    decision: 'deny',
    reason: 'invalid_request',
  },
  {
    case: 'wildcard as a requested action',
    roles: ['owner'],
    policies: [],
    action: 'compute:*',
    resource: '*',
    decision: 'deny',
    reason: 'invalid_request',
  },
  {
    case: 'empty action',
    roles: ['owner'],
    policies: [],
    action: '',
    resource: '*',
    decision: 'deny',
    reason: 'invalid_request',
  },
  {
    case: 'malformed resource',
    roles: ['owner'],
    policies: [],
    action: 'compute:get',
    resource: 'instance/i-1',
    decision: 'deny',
    reason: 'invalid_request',
  },
];

describe('policy evaluation (table)', () => {
  it.each(rows)('$case', (row) => {
    const result = evaluate({
      roles: row.roles,
      policies: row.policies,
      action: row.action,
      resource: row.resource,
    });
    expect({ decision: result.decision, reason: result.reason }).toEqual({
      decision: row.decision,
      reason: row.reason,
    });
    expect(result.explanation.length).toBeGreaterThan(0);
  });

  it('names the deciding statement', () => {
    const result = evaluate({
      roles: [],
      policies: [
        policy('a', allow(['compute:list'])),
        policy('d', allow(['storage:list']), deny(['storage:*'])),
      ],
      action: 'storage:list',
      resource: '*',
    });
    expect(result.statement).toEqual({ policyId: 'd', policyName: 'd', index: 1 });
  });

  it('role defaults are exported as data', () => {
    expect(ROLE_DEFAULTS.owner.allow).toEqual(['*']);
    expect(ROLE_DEFAULTS.member.deny).toEqual(['iam:*', 'tenant:manage*', 'billing:manage*']);
    expect(ROLE_DEFAULTS.viewer.allow).toEqual(['*:list', '*:get', '*:describe', '*:read']);
  });
});

describe('wildcard matching', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything/at/all', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['*a*a*a*a*b', 'a'.repeat(200), false],
    ['web-*', 'web-', true],
    ['literal', 'literal', true],
    ['literal', 'literally', false],
  ])('glob %j against %j: %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it('matches actions and resources by their grammar', () => {
    expect(actionMatches('*:get', 'storage:get')).toBe(true);
    expect(actionMatches('*:get', 'storage:getObject')).toBe(false);
    expect(resourceMatches('arn:nimbus:compute:*:instance/*', instance('x'))).toBe(true);
    expect(resourceMatches('arn:nimbus:compute:*:instance/*', '*')).toBe(false);
  });
});

describe('IAM action catalog', () => {
  it('declares identity actions with access levels derived from the role defaults', () => {
    expect(IAM_ACTIONS.get('iam:createPolicy')).toMatchObject({
      service: 'iam',
      access: 'administration',
    });
    expect(IAM_ACTIONS.get('tenant:list')).toMatchObject({ access: 'read' });
    expect(IAM_ACTIONS.get('apikey:create')).toMatchObject({ access: 'write' });
    const names = IAM_ACTIONS.list().map((a) => a.action);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('lets other modules declare theirs, idempotently, and refuses contradictions and bad names', () => {
    const catalog = new IamActionCatalog();
    catalog.declare([{ action: 'compute:launch', description: 'Launch an instance' }]);
    catalog.declare([{ action: 'compute:launch', description: 'Launch an instance' }]);
    expect(catalog.list()).toHaveLength(1);
    expect(catalog.has('Compute:Launch')).toBe(true);
    expect(() =>
      catalog.declare([{ action: 'compute:launch', description: 'Something else' }]),
    ).toThrow(/already declared/);
    expect(() => catalog.declare([{ action: 'compute:*', description: 'x' }])).toThrow(
      /service:name/,
    );
    expect(() => catalog.declare([{ action: 'launch', description: 'x' }])).toThrow(/service:name/);
    expect(() => catalog.declare([{ action: 'compute:stop', description: ' ' }])).toThrow(
      /description/,
    );
  });

  it.each([
    ['storage:list', 'read'],
    ['billing:manageBudgets', 'administration'],
    ['tenant:manageMembers', 'administration'],
    ['iam:listPolicies', 'administration'],
    ['compute:launch', 'write'],
  ] as const)('%s is %s', (action, level) => {
    expect(accessLevelOf(action)).toBe(level);
  });
});
