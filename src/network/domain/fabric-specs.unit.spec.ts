import { describe, expect, it } from 'vitest';

import {
  elasticIpSpecOf,
  gatewaySpecOf,
  natGatewaySpecOf,
  nicSpecOf,
  peeringSpecOf,
  routerSpecOf,
  securityGroupSpecOf,
  securityRuleSpec,
  staticRouteSpecOf,
  switchSpecOf,
} from './fabric-specs';
import { initialElasticIpState } from './elastic-ip';
import { initialNatGatewayState } from './nat-gateway';
import { initialSecurityGroupState, type SecurityGroupRule } from './security-group';
import { initialSubnetState } from './subnet';
import { initialVpcState } from './vpc';
import { initialVpcPeeringState } from './vpc-peering';

const vpc = {
  ...initialVpcState(),
  status: 'available' as const,
  vpcId: 'vpc-1',
  tenantId: 't-1',
  cidrBlock: '10.0.0.0/16',
};
const subnet = {
  ...initialSubnetState(),
  status: 'available' as const,
  subnetId: 'subnet-1',
  tenantId: 't-1',
  vpcId: 'vpc-1',
  cidrBlock: '10.0.1.0/24',
  gatewayIp: '10.0.1.1',
  allocations: { 'i-1': '10.0.1.4' },
};

describe('fabric specs of the read models', () => {
  it('a VPC is a router with its block', () => {
    expect(routerSpecOf(vpc)).toEqual({ vpcId: 'vpc-1', tenantId: 't-1', cidr: '10.0.0.0/16' });
    expect(() => routerSpecOf({ ...vpc, cidrBlock: null })).toThrow(/VPC block is missing/);
  });

  it('a subnet is a switch with its gateway address; a holder of an address a NIC', () => {
    expect(switchSpecOf(subnet)).toEqual({
      subnetId: 'subnet-1',
      vpcId: 'vpc-1',
      tenantId: 't-1',
      cidr: '10.0.1.0/24',
      gatewayIp: '10.0.1.1',
    });
    expect(nicSpecOf(subnet, 'i-1')).toEqual({
      nicId: 'i-1',
      subnetId: 'subnet-1',
      tenantId: 't-1',
      ip: '10.0.1.4',
    });
    expect(() => nicSpecOf(subnet, 'i-2')).toThrow(/holds no address/);
  });

  it('a security group is a port group; a rule peers with a block or a group', () => {
    const group = {
      ...initialSecurityGroupState(),
      groupId: 'sg-1',
      vpcId: 'vpc-1',
      tenantId: 't-1',
    };
    expect(securityGroupSpecOf(group)).toEqual({
      groupId: 'sg-1',
      vpcId: 'vpc-1',
      tenantId: 't-1',
    });
    const rule: SecurityGroupRule = {
      ruleId: 'r-1',
      direction: 'ingress',
      protocol: 'tcp',
      portMin: 22,
      portMax: 22,
      cidr: '192.0.2.0/24',
      sourceGroupId: null,
      priority: 100,
    };
    expect(securityRuleSpec('sg-1', rule)).toEqual({
      ruleId: 'r-1',
      groupId: 'sg-1',
      direction: 'ingress',
      protocol: 'tcp',
      portMin: 22,
      portMax: 22,
      peer: { kind: 'cidr', cidr: '192.0.2.0/24' },
    });
    expect(securityRuleSpec('sg-1', { ...rule, cidr: null, sourceGroupId: 'sg-1' }).peer).toEqual({
      kind: 'group',
      groupId: 'sg-1',
    });
  });

  it('a route is a static route of its table; a gateway port leads to the upstream', () => {
    expect(
      staticRouteSpecOf(
        'vpc-1',
        'rtb-1',
        { routeId: 'route-1', destinationCidr: '0.0.0.0/0' },
        { kind: 'gateway', gatewayId: 'igw-1' },
      ),
    ).toEqual({
      routeId: 'route-1',
      vpcId: 'vpc-1',
      routeTableId: 'rtb-1',
      destinationCidr: '0.0.0.0/0',
      target: { kind: 'gateway', gatewayId: 'igw-1' },
    });
    expect(
      gatewaySpecOf({ igwId: 'igw-1', vpcId: 'vpc-1', tenantId: 't-1' }, '100.64.0.3', {
        externalPrefixLength: 10,
        upstream: '100.64.0.1',
      }),
    ).toEqual({
      gatewayId: 'igw-1',
      vpcId: 'vpc-1',
      tenantId: 't-1',
      externalIp: '100.64.0.3',
      externalPrefixLength: 10,
      nextHop: '100.64.0.1',
    });
  });

  it("an elastic IP is a dnat_and_snat only while associated with an instance (a NAT gateway's is its snat)", () => {
    const eip = { ...initialElasticIpState(), eipId: 'eip-1', publicIp: '100.64.0.9' };
    expect(elasticIpSpecOf(eip)).toBeNull();
    const association = { vpcId: 'vpc-1', privateIp: '10.0.1.4' };
    expect(
      elasticIpSpecOf({
        ...eip,
        association: { ...association, target: { kind: 'instance', id: 'i-1' } },
      }),
    ).toEqual({ eipId: 'eip-1', vpcId: 'vpc-1', publicIp: '100.64.0.9', privateIp: '10.0.1.4' });
    expect(
      elasticIpSpecOf({
        ...eip,
        association: { ...association, target: { kind: 'nat_gateway', id: 'nat-1' } },
      }),
    ).toBeNull();
  });

  it("a NAT gateway SNATs its VPC's block; a peering routes each side to the other's block", () => {
    const nat = { ...initialNatGatewayState(), natGatewayId: 'nat-1', vpcId: 'vpc-1' };
    expect(natGatewaySpecOf(nat, '100.64.0.9', '10.0.0.0/16')).toEqual({
      natGatewayId: 'nat-1',
      vpcId: 'vpc-1',
      publicIp: '100.64.0.9',
      sourceCidrs: ['10.0.0.0/16'],
    });
    const peering = {
      ...initialVpcPeeringState(),
      peeringId: 'pcx-1',
      requester: { vpcId: 'vpc-1', tenantId: 't-1', cidrBlock: '10.0.0.0/16' },
      accepter: { vpcId: 'vpc-2', tenantId: 't-2', cidrBlock: '10.1.0.0/16' },
    };
    expect(peeringSpecOf(peering)).toEqual({
      peeringId: 'pcx-1',
      requester: { vpcId: 'vpc-1', cidr: '10.0.0.0/16' },
      accepter: { vpcId: 'vpc-2', cidr: '10.1.0.0/16' },
    });
    expect(() => peeringSpecOf({ ...peering, accepter: null })).toThrow(/accepter is missing/);
  });
});
