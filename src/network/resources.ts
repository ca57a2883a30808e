/**
 * Networking's resource families: what the audit log, the timeline and the event feed know about
 * VPCs, subnets, security groups, route tables, internet gateways, elastic IPs, NAT gateways and
 * peerings. Each `events` table names every event type of its decider (the type system checks it).
 * Elastic IPs are billed while allocated (eip-hours), NAT gateways while active (natgw-hours).
 */
import { audited, notAudited, resourceKind } from '../platform/resources/resource-kind';
import { routeTableView, securityGroupView, subnetView, vpcView } from './application/views';
import {
  evolveRouteTable,
  evolveSecurityGroup,
  evolveSubnet,
  evolveVpc,
  initialRouteTableState,
  initialSecurityGroupState,
  initialSubnetState,
  initialVpcState,
  type RouteTableEvent,
  type SecurityGroupEvent,
  type SubnetEvent,
  type VpcEvent,
  elasticIpDecider,
  internetGatewayDecider,
  natGatewayDecider,
  publicAddressPoolDecider,
  routeTableDecider,
  securityGroupDecider,
  subnetDecider,
  vpcDecider,
  vpcPeeringDecider,
} from './domain';

const context = 'network';
const PROVISIONED = 'outcome of the request, recorded when the fabric has applied it';

export const VPCS = resourceKind(vpcDecider, {
  context,
  family: 'vpc',
  readModel: 'network_vpcs',
  actions: { VPC_CREATE: 'A VPC was created.', VPC_DELETE: 'A VPC was deleted.' },
  events: { VpcCreated: audited('VPC_CREATE'), VpcDeleted: audited('VPC_DELETE') },
  pointInTime: {
    field: 'vpcs',
    initial: initialVpcState,
    evolve: (s, e) => evolveVpc(s, e as VpcEvent),
    present: ({ state: s }) => (s.status === 'available' ? vpcView(s) : null),
  },
});

export const SUBNETS = resourceKind(subnetDecider, {
  context,
  family: 'subnet',
  readModel: 'network_subnets',
  pointInTime: {
    field: 'subnets',
    initial: initialSubnetState,
    evolve: (s, e) => evolveSubnet(s, e as SubnetEvent),
    present: ({ state: s }) => (s.status === 'available' ? subnetView(s) : null),
  },
  actions: { SUBNET_CREATE: 'A subnet was created.', SUBNET_DELETE: 'A subnet was deleted.' },
  events: {
    SubnetCreated: audited('SUBNET_CREATE'),
    SubnetAddressAllocated: notAudited('address bookkeeping of the launch or NIC that asked'),
    SubnetAddressReleased: notAudited('address bookkeeping of the launch or NIC that asked'),
    SubnetDeleted: audited('SUBNET_DELETE'),
  },
});

export const SECURITY_GROUPS = resourceKind(securityGroupDecider, {
  context,
  family: 'security_group',
  readModel: 'network_security_groups',
  pointInTime: {
    field: 'security_groups',
    initial: initialSecurityGroupState,
    evolve: (s, e) => evolveSecurityGroup(s, e as SecurityGroupEvent),
    present: ({ state: s }) => (s.status === 'available' ? securityGroupView(s) : null),
  },
  actions: {
    SECURITY_GROUP_CREATE: 'A security group was created.',
    SECURITY_GROUP_RULE_ADD: 'A rule was added to a security group.',
    SECURITY_GROUP_RULE_REMOVE: 'A rule was removed from a security group.',
    SECURITY_GROUP_ATTACH: 'A security group was attached to an instance.',
    SECURITY_GROUP_DETACH: 'A security group was detached from an instance.',
    SECURITY_GROUP_DELETE: 'A security group was deleted.',
  },
  events: {
    SecurityGroupCreated: audited('SECURITY_GROUP_CREATE'),
    SecurityGroupRuleAdded: audited('SECURITY_GROUP_RULE_ADD'),
    SecurityGroupRuleRemoved: audited('SECURITY_GROUP_RULE_REMOVE'),
    SecurityGroupAttached: audited('SECURITY_GROUP_ATTACH'),
    SecurityGroupDetached: audited('SECURITY_GROUP_DETACH'),
    SecurityGroupDeleted: audited('SECURITY_GROUP_DELETE'),
  },
});

export const ROUTE_TABLES = resourceKind(routeTableDecider, {
  context,
  family: 'route_table',
  readModel: 'network_route_tables',
  pointInTime: {
    field: 'route_tables',
    initial: initialRouteTableState,
    evolve: (s, e) => evolveRouteTable(s, e as RouteTableEvent),
    present: ({ state: s }) => (s.status === 'available' ? routeTableView(s) : null),
  },
  actions: {
    ROUTE_TABLE_CREATE: 'A route table was created.',
    ROUTE_ADD: 'A route was added to a route table.',
    ROUTE_REMOVE: 'A route was removed from a route table.',
    ROUTE_TABLE_ASSOCIATE: 'A subnet was associated with a route table.',
    ROUTE_TABLE_DISASSOCIATE: 'A subnet was disassociated from a route table.',
    ROUTE_TABLE_DELETE: 'A route table was deleted.',
  },
  events: {
    RouteTableCreated: audited('ROUTE_TABLE_CREATE'),
    RouteAdded: audited('ROUTE_ADD'),
    RouteRemoved: audited('ROUTE_REMOVE'),
    SubnetAssociated: audited('ROUTE_TABLE_ASSOCIATE'),
    SubnetDisassociated: audited('ROUTE_TABLE_DISASSOCIATE'),
    RouteTableDeleted: audited('ROUTE_TABLE_DELETE'),
  },
});

export const INTERNET_GATEWAYS = resourceKind(internetGatewayDecider, {
  context,
  family: 'internet_gateway',
  readModel: 'network_internet_gateways',
  actions: {
    INTERNET_GATEWAY_CREATE: 'An internet gateway was created.',
    INTERNET_GATEWAY_ATTACH: 'An internet gateway was attached to a VPC.',
    INTERNET_GATEWAY_DETACH: 'An internet gateway was detached from a VPC.',
    INTERNET_GATEWAY_DELETE: 'An internet gateway was deleted.',
  },
  events: {
    InternetGatewayCreated: audited('INTERNET_GATEWAY_CREATE'),
    InternetGatewayAttached: audited('INTERNET_GATEWAY_ATTACH'),
    InternetGatewayDetached: audited('INTERNET_GATEWAY_DETACH'),
    InternetGatewayDeleted: audited('INTERNET_GATEWAY_DELETE'),
  },
});

export const ELASTIC_IPS = resourceKind(elasticIpDecider, {
  context,
  family: 'elastic_ip',
  readModel: 'network_elastic_ips',
  actions: {
    ELASTIC_IP_ALLOCATE: 'An elastic IP was allocated.',
    ELASTIC_IP_ASSOCIATE: 'An elastic IP was associated with an instance.',
    ELASTIC_IP_DISASSOCIATE: 'An elastic IP was disassociated.',
    ELASTIC_IP_RELEASE: 'An elastic IP was released.',
  },
  events: {
    ElasticIpAllocated: audited('ELASTIC_IP_ALLOCATE'),
    ElasticIpAssociated: audited('ELASTIC_IP_ASSOCIATE'),
    ElasticIpDisassociated: audited('ELASTIC_IP_DISASSOCIATE'),
    ElasticIpReleased: audited('ELASTIC_IP_RELEASE'),
  },
  billing: {
    meter: 'eip-hours',
    resourceIdField: 'eipId',
    events: { ElasticIpAllocated: 'start', ElasticIpReleased: 'stop' },
  },
});

export const NAT_GATEWAYS = resourceKind(natGatewayDecider, {
  context,
  family: 'nat_gateway',
  readModel: null,
  actions: {
    NAT_GATEWAY_CREATE: 'A NAT gateway was requested (or failed).',
    NAT_GATEWAY_DELETE: 'A NAT gateway was asked to be deleted.',
  },
  events: {
    NatGatewayCreated: audited('NAT_GATEWAY_CREATE'),
    NatGatewayActivated: notAudited(PROVISIONED),
    NatGatewayFailed: audited('NAT_GATEWAY_CREATE', 'failure'),
    NatGatewayDeletionStarted: audited('NAT_GATEWAY_DELETE'),
    NatGatewayDeleted: notAudited(PROVISIONED),
  },
  billing: {
    meter: 'natgw-hours',
    resourceIdField: 'natGatewayId',
    events: {
      NatGatewayActivated: 'start',
      NatGatewayFailed: 'stop',
      NatGatewayDeletionStarted: 'stop',
    },
  },
});

export const VPC_PEERINGS = resourceKind(vpcPeeringDecider, {
  context,
  family: 'vpc_peering',
  readModel: null,
  actions: {
    VPC_PEERING_REQUEST: 'A VPC peering was requested (or failed).',
    VPC_PEERING_ACCEPT: 'A VPC peering request was accepted.',
    VPC_PEERING_REJECT: 'A VPC peering request was rejected.',
    VPC_PEERING_DELETE: 'A VPC peering was asked to be deleted.',
  },
  events: {
    VpcPeeringRequested: audited('VPC_PEERING_REQUEST'),
    VpcPeeringAccepted: audited('VPC_PEERING_ACCEPT'),
    VpcPeeringRejected: audited('VPC_PEERING_REJECT'),
    VpcPeeringExpired: notAudited('an unanswered request lapsed (time, not a caller)'),
    VpcPeeringActivated: notAudited(PROVISIONED),
    VpcPeeringFailed: audited('VPC_PEERING_REQUEST', 'failure'),
    VpcPeeringDeletionStarted: audited('VPC_PEERING_DELETE'),
    VpcPeeringDeleted: notAudited(PROVISIONED),
  },
});

export const PUBLIC_ADDRESS_POOL = resourceKind(publicAddressPoolDecider, {
  context,
  family: 'public_address_pool',
  readModel: null,
  actions: {},
  events: {
    PublicAddressReserved: notAudited(
      'address bookkeeping of the elastic IP or gateway that asked',
    ),
    PublicAddressReleased: notAudited(
      'address bookkeeping of the elastic IP or gateway that asked',
    ),
  },
});

export const NETWORK_RESOURCE_KINDS = [
  VPCS,
  SUBNETS,
  SECURITY_GROUPS,
  ROUTE_TABLES,
  INTERNET_GATEWAYS,
  ELASTIC_IPS,
  NAT_GATEWAYS,
  VPC_PEERINGS,
  PUBLIC_ADDRESS_POOL,
];
