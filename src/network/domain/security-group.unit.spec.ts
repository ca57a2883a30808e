import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  parseRule,
  securityGroupDecider,
  type AddSecurityGroupRule,
  type CreateSecurityGroup,
  type SecurityGroupEvent,
  type SecurityGroupRule,
} from './security-group';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'sg-1';

const create = (overrides: Partial<CreateSecurityGroup> = {}): CreateSecurityGroup => ({
  type: 'CreateSecurityGroup',
  groupId: ID,
  tenantId: 't-1',
  vpcId: 'vpc-1',
  name: 'web-tier',
  description: 'Port 80 and 443 allowed',
  isDefault: false,
  takenNames: ['default'],
  now: NOW,
  ...overrides,
});
const created = (isDefault = false, name = 'web-tier'): SecurityGroupEvent => ({
  type: 'SecurityGroupCreated',
  data: {
    groupId: ID,
    tenantId: 't-1',
    vpcId: 'vpc-1',
    name,
    description: isDefault ? 'default group' : 'Port 80 and 443 allowed',
    isDefault,
    at: AT,
  },
});
const http: SecurityGroupRule = {
  ruleId: 'r-1',
  direction: 'ingress',
  protocol: 'tcp',
  portMin: 80,
  portMax: 80,
  cidr: '0.0.0.0/0',
  sourceGroupId: null,
  priority: 100,
};
const ruleAdded = (rule: SecurityGroupRule): SecurityGroupEvent => ({
  type: 'SecurityGroupRuleAdded',
  data: { groupId: ID, rule, at: AT },
});
const addRule = (rule: Partial<AddSecurityGroupRule['rule']> = {}): AddSecurityGroupRule => ({
  type: 'AddSecurityGroupRule',
  rule: {
    ruleId: 'r-1',
    direction: 'ingress',
    protocol: 'tcp',
    portMin: 80,
    portMax: 80,
    cidr: '0.0.0.0/0',
    priority: 100,
    ...rule,
  },
  now: NOW,
});
const attached: SecurityGroupEvent = {
  type: 'SecurityGroupAttached',
  data: { groupId: ID, instanceId: 'i-1', at: AT },
};

describe('security group decider', () => {
  it('creates a group', () => {
    spec(securityGroupDecider).given([]).when(create()).then([created()]);
  });

  it('creates the default group with the rule admitting its own members', () => {
    spec(securityGroupDecider)
      .given([])
      .when(
        create({
          name: 'default',
          description: 'default group',
          isDefault: true,
          selfRuleId: 'r-self',
          takenNames: [],
        }),
      )
      .then([
        created(true, 'default'),
        ruleAdded({
          ruleId: 'r-self',
          direction: 'ingress',
          protocol: 'all',
          portMin: null,
          portMax: null,
          cidr: null,
          sourceGroupId: ID,
          priority: 100,
        }),
      ]);
  });

  it('refuses "default" for another group (400) and a name taken in the VPC (409)', () => {
    spec(securityGroupDecider)
      .given([])
      .when(create({ name: 'default', takenNames: [] }))
      .thenThrows('validation_error', /reserved/);
    spec(securityGroupDecider)
      .given([])
      .when(create({ takenNames: ['web-tier'] }))
      .thenThrows('conflict', /already has a security group named/);
  });

  it('adds a rule', () => {
    spec(securityGroupDecider)
      .given([created()])
      .when(addRule())
      .then([ruleAdded(http)]);
  });

  it('a duplicate rule is 409 conflict, whatever its id and priority', () => {
    spec(securityGroupDecider)
      .given([created(), ruleAdded(http)])
      .when(addRule({ ruleId: 'r-2', priority: 200 }))
      .thenThrows('conflict', /already has this rule \(r-1\)/);
  });

  it('the same rule id repeated with the same content is a no-op', () => {
    spec(securityGroupDecider)
      .given([created(), ruleAdded(http)])
      .when(addRule())
      .then([]);
    spec(securityGroupDecider)
      .given([created(), ruleAdded(http)])
      .when(addRule({ portMin: 81, portMax: 81 }))
      .thenThrows('conflict', /other values/);
  });

  it.each<[string, Partial<AddSecurityGroupRule['rule']>, RegExp]>([
    ['a bad direction', { direction: 'inbound' }, /direction/],
    ['a bad protocol', { protocol: 'sctp' }, /protocol/],
    ['a port out of range', { portMin: 0 }, /port_min/],
    ['an empty range', { portMin: 90, portMax: 80 }, /port_max must not be below/],
    ['ports for ICMP', { protocol: 'icmp' }, /must be absent for protocol icmp/],
    ['a bad CIDR', { cidr: '10.0.0.1/8' }, /cidr/],
    ['a bad priority', { priority: 0 }, /priority/],
  ])('refuses %s (400)', (_what, rule, message) => {
    spec(securityGroupDecider)
      .given([created()])
      .when(addRule(rule))
      .thenThrows('validation_error', message);
  });

  it('a TCP rule with port_min only covers that one port', () => {
    expect(parseRule(addRule({ portMax: undefined, portMin: 443 }).rule).rule).toMatchObject({
      portMin: 443,
      portMax: 443,
    });
  });

  it('removes a rule; removing an unknown rule is 404', () => {
    spec(securityGroupDecider)
      .given([created(), ruleAdded(http)])
      .when({ type: 'RemoveSecurityGroupRule', ruleId: 'r-1', now: NOW })
      .then([{ type: 'SecurityGroupRuleRemoved', data: { groupId: ID, ruleId: 'r-1', at: AT } }]);
    spec(securityGroupDecider)
      .given([created()])
      .when({ type: 'RemoveSecurityGroupRule', ruleId: 'r-9', now: NOW })
      .thenThrows('not_found');
  });

  it('attach and detach are idempotent', () => {
    const attach = { type: 'AttachSecurityGroup' as const, instanceId: 'i-1', now: NOW };
    const detach = { type: 'DetachSecurityGroup' as const, instanceId: 'i-1', now: NOW };
    spec(securityGroupDecider).given([created()]).when(attach).then([attached]);
    spec(securityGroupDecider).given([created(), attached]).when(attach).then([]);
    spec(securityGroupDecider)
      .given([created(), attached])
      .when(detach)
      .then([{ type: 'SecurityGroupDetached', data: { groupId: ID, instanceId: 'i-1', at: AT } }]);
    spec(securityGroupDecider).given([created()]).when(detach).then([]);
  });

  it('delete: refused with members (409) and for the default group unless with its VPC', () => {
    const del = (withVpc = false) => ({ type: 'DeleteSecurityGroup' as const, withVpc, now: NOW });
    const deleted: SecurityGroupEvent = {
      type: 'SecurityGroupDeleted',
      data: { groupId: ID, vpcId: 'vpc-1', at: AT },
    };
    spec(securityGroupDecider).given([created()]).when(del()).then([deleted]);
    spec(securityGroupDecider)
      .given([created(), attached])
      .when(del())
      .thenThrows('dependency_violation', /i-1/);
    spec(securityGroupDecider)
      .given([created(true, 'default')])
      .when(del())
      .thenThrows('invalid_state');
    spec(securityGroupDecider)
      .given([created(true, 'default')])
      .when(del(true))
      .then([deleted]);
    spec(securityGroupDecider).given([created(), deleted]).when(del()).thenThrows('not_found');
  });
});
