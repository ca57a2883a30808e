import { describe, expect, it } from 'vitest';

import type { SecurityRuleSpec } from '../../network/ports/network-fabric';
import { defaultGroupAcls, ruleAcl } from './ovn-acl';
import { ovnNames } from './ovn-names';

const GROUP = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const PG = ovnNames.portGroup(GROUP);

const rule = (overrides: Partial<SecurityRuleSpec>): SecurityRuleSpec => ({
  ruleId: 'r1',
  groupId: GROUP,
  direction: 'ingress',
  protocol: 'tcp',
  portMin: 80,
  portMax: 80,
  peer: { kind: 'cidr', cidr: '0.0.0.0/0' },
  ...overrides,
});

describe('security group ACLs', () => {
  it('every group allows all egress (stateful) and drops the ingress no rule allows', () => {
    expect(defaultGroupAcls(GROUP)).toEqual({
      egress: {
        direction: 'from-lport',
        priority: 1001,
        match: `inport == @${PG} && ip4`,
        action: 'allow-related',
      },
      drop: {
        direction: 'to-lport',
        priority: 1000,
        match: `outport == @${PG} && ip4`,
        action: 'drop',
      },
    });
  });

  it.each<[string, Partial<SecurityRuleSpec>, string]>([
    ['one TCP port from anywhere', {}, `outport == @${PG} && ip4 && tcp && tcp.dst == 80`],
    [
      'a UDP range from a CIDR',
      {
        protocol: 'udp',
        portMin: 5000,
        portMax: 5010,
        peer: { kind: 'cidr', cidr: '10.0.0.0/16' },
      },
      `outport == @${PG} && ip4 && ip4.src == 10.0.0.0/16 && udp && udp.dst >= 5000 && udp.dst <= 5010`,
    ],
    ['every TCP port', { portMin: null, portMax: null }, `outport == @${PG} && ip4 && tcp`],
    [
      'ICMP',
      { protocol: 'icmp', portMin: null, portMax: null },
      `outport == @${PG} && ip4 && icmp4`,
    ],
    [
      'everything from the members of another group',
      { protocol: 'all', portMin: null, portMax: null, peer: { kind: 'group', groupId: OTHER } },
      `outport == @${PG} && ip4 && ip4.src == $${ovnNames.portGroup(OTHER)}_ip4`,
    ],
    [
      'egress to a CIDR',
      { direction: 'egress', peer: { kind: 'cidr', cidr: '192.168.0.0/24' } },
      `inport == @${PG} && ip4 && ip4.dst == 192.168.0.0/24 && tcp && tcp.dst == 80`,
    ],
  ])('allows %s', (_what, overrides, match) => {
    const acl = ruleAcl(rule(overrides));
    expect(acl.match).toBe(match);
    expect(acl.action).toBe('allow-related');
    expect(acl.priority).toBe(1001);
    expect(acl.direction).toBe(overrides.direction === 'egress' ? 'from-lport' : 'to-lport');
  });

  it('refuses what would not make a sound match expression', () => {
    expect(() => ruleAcl(rule({ peer: { kind: 'cidr', cidr: '10.0.0.0/8 || 1' } }))).toThrow(
      /not an IPv4 CIDR/,
    );
    expect(() => ruleAcl(rule({ portMin: 90, portMax: 80 }))).toThrow(/empty/);
    expect(() => ruleAcl(rule({ portMin: 70000, portMax: 70000 }))).toThrow(/not a port/);
    expect(() => ruleAcl(rule({ peer: { kind: 'group', groupId: 'x y' } }))).toThrow(/not usable/);
  });
});
