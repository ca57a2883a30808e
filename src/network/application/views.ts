/**
 * The API shapes of the networking resources this context serves from its read models (and
 * point-in-time state folds): snake_case, ids, the ARN, no internal bookkeeping.
 */
import {
  isDefaultVpc,
  networkArn,
  usableAddressCount,
  type Route,
  type RouteTableState,
  type SecurityGroupRule,
  type SecurityGroupState,
  type SubnetState,
  type VpcState,
} from '../domain';

export interface VpcView {
  id: string;
  name: string;
  cidr_block: string;
  status: 'available' | 'deleted';
  is_default: boolean;
  main_route_table_id: string;
  default_security_group_id: string;
  arn: string;
  created_at: string | null;
}

export function vpcView(s: VpcState): VpcView {
  const id = s.vpcId as string;
  const tenantId = s.tenantId as string;
  return {
    id,
    name: s.name,
    cidr_block: s.cidrBlock as string,
    status: s.status === 'deleted' ? 'deleted' : 'available',
    is_default: isDefaultVpc(tenantId, id),
    main_route_table_id: s.mainRouteTableId as string,
    default_security_group_id: s.defaultSecurityGroupId as string,
    arn: networkArn(tenantId, 'vpc', id),
    created_at: s.createdAt,
  };
}

export interface SubnetView {
  id: string;
  vpc_id: string;
  name: string;
  cidr_block: string;
  availability_zone: string;
  gateway_ip: string;
  available_ip_address_count: number;
  status: 'available' | 'deleted';
  arn: string;
  created_at: string | null;
}

export function subnetView(s: SubnetState): SubnetView {
  const id = s.subnetId as string;
  const cidr = s.cidrBlock as string;
  return {
    id,
    vpc_id: s.vpcId as string,
    name: s.name,
    cidr_block: cidr,
    availability_zone: s.availabilityZone,
    gateway_ip: s.gatewayIp as string,
    available_ip_address_count: usableAddressCount(cidr) - Object.keys(s.allocations).length,
    status: s.status === 'deleted' ? 'deleted' : 'available',
    arn: networkArn(s.tenantId as string, 'subnet', id),
    created_at: s.createdAt,
  };
}

export interface SecurityGroupRuleView {
  id: string;
  direction: 'ingress' | 'egress';
  protocol: 'tcp' | 'udp' | 'icmp' | 'all';
  port_min: number | null;
  port_max: number | null;
  cidr: string | null;
  source_group_id: string | null;
  priority: number;
}

export function ruleView(r: SecurityGroupRule): SecurityGroupRuleView {
  return {
    id: r.ruleId,
    direction: r.direction,
    protocol: r.protocol,
    port_min: r.portMin,
    port_max: r.portMax,
    cidr: r.cidr,
    source_group_id: r.sourceGroupId,
    priority: r.priority,
  };
}

export interface SecurityGroupView {
  id: string;
  vpc_id: string;
  name: string;
  description: string;
  is_default: boolean;
  status: 'available' | 'deleted';
  rules: SecurityGroupRuleView[];
  instance_ids: string[];
  arn: string;
}

export function securityGroupView(s: SecurityGroupState): SecurityGroupView {
  const id = s.groupId as string;
  return {
    id,
    vpc_id: s.vpcId as string,
    name: s.name,
    description: s.description,
    is_default: s.isDefault,
    status: s.status === 'deleted' ? 'deleted' : 'available',
    rules: s.rules.map(ruleView),
    instance_ids: [...s.members],
    arn: networkArn(s.tenantId as string, 'security-group', id),
  };
}

export interface RouteView {
  id: string;
  destination_cidr: string;
  target_type: Route['targetType'];
  target_id: string | null;
}

export function routeView(r: Route): RouteView {
  return {
    id: r.routeId,
    destination_cidr: r.destinationCidr,
    target_type: r.targetType,
    target_id: r.targetId,
  };
}

export interface RouteTableView {
  id: string;
  vpc_id: string;
  name: string;
  is_main: boolean;
  status: 'available' | 'deleted';
  routes: RouteView[];
  subnet_ids: string[];
  arn: string;
}

export function routeTableView(s: RouteTableState): RouteTableView {
  const id = s.routeTableId as string;
  return {
    id,
    vpc_id: s.vpcId as string,
    name: s.name,
    is_main: s.isMain,
    status: s.status === 'deleted' ? 'deleted' : 'available',
    routes: s.routes.map(routeView),
    subnet_ids: [...s.subnetIds],
    arn: networkArn(s.tenantId as string, 'route-table', id),
  };
}
