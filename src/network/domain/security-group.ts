/**
 * The security group aggregate (stream `security-group-<groupId>`): stateful allow rules and the
 * NICs (instances) that are members. On the fabric: a port group and its ACLs.
 *
 *   (create) -> available --delete--> deleted
 *
 * Semantics, as AWS's: egress allowed, ingress denied unless a rule allows it, replies to allowed
 * traffic pass. Every VPC has a `default` group (created with it) that admits all traffic from
 * its own members; it is deleted only with its VPC.
 *
 * - A rule equal to an existing one (direction, protocol, ports and source, whatever its
 *   priority) is 409 conflict; the same rule id repeated with the same content is a no-op.
 * - Removing a rule that is not there is 404 (the user named it); attach and detach are
 *   idempotent.
 * - Delete is refused (409 dependency_violation) while instances are members.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { parseCidr } from './cidr';
import {
  dependencyViolation,
  nameProblems,
  notFound,
  throwIfInvalid,
  type FieldProblem,
} from './rules';

export const SECURITY_GROUP_CATEGORY = 'security-group';
export const DEFAULT_GROUP_NAME = 'default';
export const RULE_DIRECTIONS = ['ingress', 'egress'] as const;
export const RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export const DEFAULT_RULE_PRIORITY = 100;

export type RuleDirection = (typeof RULE_DIRECTIONS)[number];
export type RuleProtocol = (typeof RULE_PROTOCOLS)[number];

export interface SecurityGroupRule {
  ruleId: string;
  direction: RuleDirection;
  protocol: RuleProtocol;
  portMin: number | null;
  portMax: number | null;
  /** The peer block; null when the peer is a group. */
  cidr: string | null;
  /** The peer group (its members' addresses); null when the peer is a block. */
  sourceGroupId: string | null;
  priority: number;
}

export interface CreateSecurityGroup {
  type: 'CreateSecurityGroup';
  groupId: string;
  tenantId: string;
  vpcId: string;
  name: string;
  description: string;
  /** The VPC's `default` group: gets the rule admitting its own members. */
  isDefault: boolean;
  /** The id of that self-rule (used only when isDefault). */
  selfRuleId?: string;
  /** Names of the VPC's other groups (names are unique per VPC: 409). */
  takenNames: readonly string[];
  now: Date;
}

export interface AddSecurityGroupRule {
  type: 'AddSecurityGroupRule';
  rule: {
    ruleId: string;
    direction: unknown;
    protocol: unknown;
    portMin: unknown;
    portMax: unknown;
    cidr: unknown;
    priority?: unknown;
  };
  now: Date;
}

export interface RemoveSecurityGroupRule {
  type: 'RemoveSecurityGroupRule';
  ruleId: string;
  now: Date;
}

export interface AttachSecurityGroup {
  type: 'AttachSecurityGroup';
  instanceId: string;
  now: Date;
}

export interface DetachSecurityGroup {
  type: 'DetachSecurityGroup';
  instanceId: string;
  now: Date;
}

export interface DeleteSecurityGroup {
  type: 'DeleteSecurityGroup';
  /** True only when the VPC itself is being deleted (the default group goes with it). */
  withVpc: boolean;
  now: Date;
}

export type SecurityGroupCommand =
  | CreateSecurityGroup
  | AddSecurityGroupRule
  | RemoveSecurityGroupRule
  | AttachSecurityGroup
  | DetachSecurityGroup
  | DeleteSecurityGroup;

export type SecurityGroupEvent =
  | {
      type: 'SecurityGroupCreated';
      data: {
        groupId: string;
        tenantId: string;
        vpcId: string;
        name: string;
        description: string;
        isDefault: boolean;
        at: string;
      };
    }
  | {
      type: 'SecurityGroupRuleAdded';
      data: { groupId: string; rule: SecurityGroupRule; at: string };
    }
  | { type: 'SecurityGroupRuleRemoved'; data: { groupId: string; ruleId: string; at: string } }
  | { type: 'SecurityGroupAttached'; data: { groupId: string; instanceId: string; at: string } }
  | { type: 'SecurityGroupDetached'; data: { groupId: string; instanceId: string; at: string } }
  | { type: 'SecurityGroupDeleted'; data: { groupId: string; vpcId: string; at: string } };

export interface SecurityGroupState {
  status: 'none' | 'available' | 'deleted';
  groupId: string | null;
  tenantId: string | null;
  vpcId: string | null;
  name: string;
  description: string;
  isDefault: boolean;
  rules: readonly SecurityGroupRule[];
  members: readonly string[];
}

export function initialSecurityGroupState(): SecurityGroupState {
  return {
    status: 'none',
    groupId: null,
    tenantId: null,
    vpcId: null,
    name: '',
    description: '',
    isDefault: false,
    rules: [],
    members: [],
  };
}

export function evolveSecurityGroup(
  state: SecurityGroupState,
  event: SecurityGroupEvent,
): SecurityGroupState {
  switch (event.type) {
    case 'SecurityGroupCreated':
      return {
        ...initialSecurityGroupState(),
        status: 'available',
        groupId: event.data.groupId,
        tenantId: event.data.tenantId,
        vpcId: event.data.vpcId,
        name: event.data.name,
        description: event.data.description,
        isDefault: event.data.isDefault,
      };
    case 'SecurityGroupRuleAdded':
      return { ...state, rules: [...state.rules, event.data.rule] };
    case 'SecurityGroupRuleRemoved':
      return { ...state, rules: state.rules.filter((r) => r.ruleId !== event.data.ruleId) };
    case 'SecurityGroupAttached':
      return { ...state, members: [...state.members, event.data.instanceId] };
    case 'SecurityGroupDetached':
      return { ...state, members: state.members.filter((m) => m !== event.data.instanceId) };
    case 'SecurityGroupDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** Validates a rule as the API receives it; returns it normalised, or the problems. */
export function parseRule(input: AddSecurityGroupRule['rule']): {
  rule: SecurityGroupRule | null;
  problems: FieldProblem[];
} {
  const problems: FieldProblem[] = [];
  const direction = RULE_DIRECTIONS.find((d) => d === input.direction);
  if (!direction) problems.push({ path: 'direction', message: 'must be ingress or egress' });
  const protocol = RULE_PROTOCOLS.find((p) => p === input.protocol);
  if (!protocol) problems.push({ path: 'protocol', message: 'must be tcp, udp, icmp or all' });

  let portMin: number | null = null;
  let portMax: number | null = null;
  if (protocol === 'tcp' || protocol === 'udp') {
    const min = input.portMin ?? null;
    const max = input.portMax ?? min;
    if (!isPort(min))
      problems.push({ path: 'port_min', message: 'must be a port from 1 to 65535' });
    if (!isPort(max))
      problems.push({ path: 'port_max', message: 'must be a port from 1 to 65535' });
    if (isPort(min) && isPort(max)) {
      if (min > max) problems.push({ path: 'port_max', message: 'must not be below port_min' });
      portMin = min;
      portMax = max;
    }
  } else if (protocol) {
    for (const [path, value] of [
      ['port_min', input.portMin],
      ['port_max', input.portMax],
    ] as const) {
      if (value !== undefined && value !== null) {
        problems.push({ path, message: `must be absent for protocol ${protocol}` });
      }
    }
  }

  const parsed = parseCidr(input.cidr);
  if (!parsed.ok) problems.push({ path: 'cidr', message: parsed.problem });

  const priority = input.priority ?? DEFAULT_RULE_PRIORITY;
  if (
    typeof priority !== 'number' ||
    !Number.isInteger(priority) ||
    priority < 1 ||
    priority > 32767
  ) {
    problems.push({ path: 'priority', message: 'must be an integer from 1 to 32767' });
  }

  if (problems.length > 0 || !direction || !protocol || !parsed.ok) return { rule: null, problems };
  return {
    rule: {
      ruleId: input.ruleId,
      direction,
      protocol,
      portMin,
      portMax,
      cidr: parsed.cidr.text,
      sourceGroupId: null,
      priority: priority as number,
    },
    problems: [],
  };
}

/** Two rules admitting the same traffic (priority aside). */
export function sameTraffic(a: SecurityGroupRule, b: SecurityGroupRule): boolean {
  return (
    a.direction === b.direction &&
    a.protocol === b.protocol &&
    a.portMin === b.portMin &&
    a.portMax === b.portMax &&
    a.cidr === b.cidr &&
    a.sourceGroupId === b.sourceGroupId
  );
}

export function decideSecurityGroup(
  command: SecurityGroupCommand,
  state: SecurityGroupState,
): SecurityGroupEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateSecurityGroup') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `security group ${command.groupId} already exists`, {
        resource: 'security_group',
        id: command.groupId,
      });
    }
    const problems = [...nameProblems(command.name, 'name')];
    if (typeof command.description !== 'string' || command.description.length > 255) {
      problems.push({ path: 'description', message: 'must be a string of at most 255 characters' });
    }
    if (!command.isDefault && command.name === DEFAULT_GROUP_NAME) {
      problems.push({ path: 'name', message: '"default" is reserved for the VPC\'s own group' });
    }
    throwIfInvalid(problems);
    if (command.takenNames.includes(command.name)) {
      throw new AppError(
        'conflict',
        `the VPC already has a security group named "${command.name}"`,
        {
          resource: 'security_group',
          field: 'name',
        },
      );
    }
    const created: SecurityGroupEvent = {
      type: 'SecurityGroupCreated',
      data: {
        groupId: command.groupId,
        tenantId: command.tenantId,
        vpcId: command.vpcId,
        name: command.name,
        description: command.description,
        isDefault: command.isDefault,
        at,
      },
    };
    if (!command.isDefault) return [created];
    if (!command.selfRuleId)
      throw new Error('CreateSecurityGroup: a default group needs selfRuleId');
    const selfRule: SecurityGroupRule = {
      ruleId: command.selfRuleId,
      direction: 'ingress',
      protocol: 'all',
      portMin: null,
      portMax: null,
      cidr: null,
      sourceGroupId: command.groupId,
      priority: DEFAULT_RULE_PRIORITY,
    };
    return [
      created,
      { type: 'SecurityGroupRuleAdded', data: { groupId: command.groupId, rule: selfRule, at } },
    ];
  }

  if (state.status !== 'available') throw notFound('security_group', state.groupId);
  const groupId = state.groupId as string;

  switch (command.type) {
    case 'AddSecurityGroupRule': {
      const { rule, problems } = parseRule(command.rule);
      throwIfInvalid(problems);
      const wanted = rule as SecurityGroupRule;
      const sameId = state.rules.find((r) => r.ruleId === wanted.ruleId);
      if (sameId) {
        if (sameTraffic(sameId, wanted) && sameId.priority === wanted.priority) return [];
        throw new AppError('conflict', `rule ${wanted.ruleId} already exists with other values`, {
          resource: 'security_group_rule',
          id: wanted.ruleId,
        });
      }
      const duplicate = state.rules.find((r) => sameTraffic(r, wanted));
      if (duplicate) {
        throw new AppError(
          'conflict',
          `security group ${groupId} already has this rule (${duplicate.ruleId})`,
          { resource: 'security_group_rule', id: duplicate.ruleId },
        );
      }
      return [{ type: 'SecurityGroupRuleAdded', data: { groupId, rule: wanted, at } }];
    }
    case 'RemoveSecurityGroupRule': {
      if (!state.rules.some((r) => r.ruleId === command.ruleId)) {
        throw notFound('security_group_rule', command.ruleId);
      }
      return [{ type: 'SecurityGroupRuleRemoved', data: { groupId, ruleId: command.ruleId, at } }];
    }
    case 'AttachSecurityGroup':
      if (state.members.includes(command.instanceId)) return [];
      return [
        { type: 'SecurityGroupAttached', data: { groupId, instanceId: command.instanceId, at } },
      ];
    case 'DetachSecurityGroup':
      if (!state.members.includes(command.instanceId)) return [];
      return [
        { type: 'SecurityGroupDetached', data: { groupId, instanceId: command.instanceId, at } },
      ];
    case 'DeleteSecurityGroup': {
      if (state.isDefault && !command.withVpc) {
        throw AppError.invalidState(
          `the default security group of VPC ${state.vpcId} is deleted only with the VPC`,
          { resource: 'security_group', id: groupId, isDefault: true },
        );
      }
      if (state.members.length > 0) {
        throw dependencyViolation(
          `security group ${groupId} is attached to instances ${state.members.join(', ')}; detach it first`,
          { instances: state.members },
        );
      }
      return [
        { type: 'SecurityGroupDeleted', data: { groupId, vpcId: state.vpcId as string, at } },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const securityGroupDecider: Decider<
  SecurityGroupCommand,
  SecurityGroupEvent,
  SecurityGroupState
> = {
  category: SECURITY_GROUP_CATEGORY,
  initialState: initialSecurityGroupState,
  evolve: evolveSecurityGroup,
  decide: decideSecurityGroup,
};
