/**
 * What each resource is on the network fabric, built from its state: the specs its create use
 * case (or saga) ensures, and that the start-up reconcile ensures again from the read models.
 * One builder per family, pure, so the two never disagree.
 */
import type {
  ElasticIpSpec,
  GatewaySpec,
  NatGatewaySpec,
  NicSpec,
  PeeringSpec,
  RouterSpec,
  RouteTarget,
  SecurityGroupSpec,
  SecurityRuleSpec,
  StaticRouteSpec,
  SwitchSpec,
} from '../ports/network-fabric';
import type { ElasticIpState } from './elastic-ip';
import type { NatGatewayState } from './nat-gateway';
import type { Route } from './route-table';
import type { SecurityGroupRule, SecurityGroupState } from './security-group';
import type { SubnetState } from './subnet';
import type { VpcState } from './vpc';
import type { VpcPeeringState } from './vpc-peering';

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`${what} is missing`);
  return value;
}

/** A VPC's router. */
export function routerSpecOf(vpc: Pick<VpcState, 'vpcId' | 'tenantId' | 'cidrBlock'>): RouterSpec {
  return {
    vpcId: required(vpc.vpcId, 'VPC id'),
    tenantId: required(vpc.tenantId, 'VPC tenant'),
    cidr: required(vpc.cidrBlock, 'VPC block'),
  };
}

/** A subnet's switch, router port and DHCP options. */
export function switchSpecOf(
  subnet: Pick<SubnetState, 'subnetId' | 'vpcId' | 'tenantId' | 'cidrBlock' | 'gatewayIp'>,
): SwitchSpec {
  return {
    subnetId: required(subnet.subnetId, 'subnet id'),
    vpcId: required(subnet.vpcId, 'subnet VPC'),
    tenantId: required(subnet.tenantId, 'subnet tenant'),
    cidr: required(subnet.cidrBlock, 'subnet block'),
    gatewayIp: required(subnet.gatewayIp, 'subnet gateway'),
  };
}

/** The NIC (logical switch port) of an address holder of the subnet, named by the holder. */
export function nicSpecOf(
  subnet: Pick<SubnetState, 'subnetId' | 'tenantId' | 'allocations'>,
  holderId: string,
): NicSpec {
  const ip = subnet.allocations[holderId];
  if (ip === undefined)
    throw new Error(`${holderId} holds no address in subnet ${subnet.subnetId}`);
  return {
    nicId: holderId,
    subnetId: required(subnet.subnetId, 'subnet id'),
    tenantId: required(subnet.tenantId, 'subnet tenant'),
    ip,
  };
}

/** A security group's port group (with its default ACLs). */
export function securityGroupSpecOf(
  group: Pick<SecurityGroupState, 'groupId' | 'vpcId' | 'tenantId'>,
): SecurityGroupSpec {
  return {
    groupId: required(group.groupId, 'security group id'),
    vpcId: required(group.vpcId, 'security group VPC'),
    tenantId: required(group.tenantId, 'security group tenant'),
  };
}

/** A security group rule as the fabric takes it. */
export function securityRuleSpec(groupId: string, rule: SecurityGroupRule): SecurityRuleSpec {
  return {
    ruleId: rule.ruleId,
    groupId,
    direction: rule.direction,
    protocol: rule.protocol,
    portMin: rule.portMin,
    portMax: rule.portMax,
    peer:
      rule.sourceGroupId !== null
        ? { kind: 'group', groupId: rule.sourceGroupId }
        : { kind: 'cidr', cidr: rule.cidr ?? '0.0.0.0/0' },
  };
}

/** A route of a route table as a static route in the table's OVN route table. */
export function staticRouteSpecOf(
  vpcId: string,
  routeTableId: string,
  route: Pick<Route, 'routeId' | 'destinationCidr'>,
  target: RouteTarget,
): StaticRouteSpec {
  return {
    routeId: route.routeId,
    vpcId,
    routeTableId,
    destinationCidr: route.destinationCidr,
    target,
  };
}

/** Where the external network is and how it is left: the networking options' part a gateway needs. */
export interface ExternalNetwork {
  externalPrefixLength: number;
  /** The upstream router (next hop of routes through a gateway). */
  upstream: string;
}

/** The gateway port of an internet gateway attached to a VPC, at its address from the pool. */
export function gatewaySpecOf(
  gateway: { igwId: string; vpcId: string; tenantId: string },
  externalIp: string,
  external: ExternalNetwork,
): GatewaySpec {
  return {
    gatewayId: gateway.igwId,
    vpcId: gateway.vpcId,
    tenantId: gateway.tenantId,
    externalIp,
    externalPrefixLength: external.externalPrefixLength,
    nextHop: external.upstream,
  };
}

/**
 * The `dnat_and_snat` of an elastic IP associated with an instance; null for one not associated
 * or associated with a NAT gateway (whose `snat` rules are the NAT gateway's own).
 */
export function elasticIpSpecOf(
  eip: Pick<ElasticIpState, 'eipId' | 'publicIp' | 'association'>,
): ElasticIpSpec | null {
  const association = eip.association;
  if (association === null || association.target.kind !== 'instance') return null;
  return {
    eipId: required(eip.eipId, 'elastic IP id'),
    vpcId: association.vpcId,
    publicIp: required(eip.publicIp, 'elastic IP address'),
    privateIp: association.privateIp,
  };
}

/** A NAT gateway's `snat` rules: the VPC's block leaves from its elastic IP's address. */
export function natGatewaySpecOf(
  nat: Pick<NatGatewayState, 'natGatewayId' | 'vpcId'>,
  publicIp: string,
  vpcCidr: string,
): NatGatewaySpec {
  return {
    natGatewayId: required(nat.natGatewayId, 'NAT gateway id'),
    vpcId: required(nat.vpcId, 'NAT gateway VPC'),
    publicIp,
    sourceCidrs: [vpcCidr],
  };
}

/** A peering's link between the two routers, each side routing exactly the other's block. */
export function peeringSpecOf(
  peering: Pick<VpcPeeringState, 'peeringId' | 'requester' | 'accepter'>,
): PeeringSpec {
  const requester = required(peering.requester, 'peering requester');
  const accepter = required(peering.accepter, 'peering accepter');
  return {
    peeringId: required(peering.peeringId, 'peering id'),
    requester: { vpcId: requester.vpcId, cidr: requester.cidrBlock },
    accepter: { vpcId: accepter.vpcId, cidr: accepter.cidrBlock },
  };
}
