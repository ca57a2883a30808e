import type {
  ElasticIpState,
  InternetGatewayState,
  NatGatewayState,
  NatGatewayStatus,
  VpcPeeringState,
  VpcPeeringStatus,
} from '../domain';

/** `arn:nimbus:vpc:local:<tenant>:<type>/<id>`, the ARN networking resources show. */
export function networkArn(tenantId: string, type: string, id: string): string {
  return `arn:nimbus:vpc:local:${tenantId}:${type}/${id}`;
}

/** Creation and last change of a read-model row. */
export interface RowTimes {
  createdAt: string;
  updatedAt: string;
}

/** The API shape of an internet gateway (`GET /internet-gateways/:id`). */
export interface InternetGatewayView {
  id: string;
  status: 'detached' | 'attached';
  vpc_id: string | null;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function internetGatewayView(s: InternetGatewayState, times: RowTimes): InternetGatewayView {
  return {
    id: s.igwId as string,
    status: s.status === 'attached' ? 'attached' : 'detached',
    vpc_id: s.vpcId,
    arn: networkArn(s.tenantId as string, 'igw', s.igwId as string),
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}

/** The API shape of an elastic IP (`GET /elastic-ips/:id`). */
export interface ElasticIpView {
  id: string;
  public_ip: string;
  status: 'allocated' | 'associated';
  instance_id: string | null;
  nat_gateway_id: string | null;
  vpc_id: string | null;
  private_ip: string | null;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function elasticIpView(s: ElasticIpState, times: RowTimes): ElasticIpView {
  const target = s.association?.target ?? null;
  return {
    id: s.eipId as string,
    public_ip: s.publicIp as string,
    status: s.status === 'associated' ? 'associated' : 'allocated',
    instance_id: target?.kind === 'instance' ? target.id : null,
    nat_gateway_id: target?.kind === 'nat_gateway' ? target.id : null,
    vpc_id: s.association?.vpcId ?? null,
    private_ip: s.association?.privateIp ?? null,
    arn: networkArn(s.tenantId as string, 'eip', s.eipId as string),
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}

/** The API shape of a NAT gateway (`GET /nat-gateways/:id`). */
export interface NatGatewayView {
  id: string;
  vpc_id: string;
  subnet_id: string;
  elastic_ip_id: string;
  status: NatGatewayStatus;
  private_ip: string;
  public_ip: string | null;
  failure_code: string | null;
  failure_message: string | null;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function natGatewayView(s: NatGatewayState, times: RowTimes): NatGatewayView {
  return {
    id: s.natGatewayId as string,
    vpc_id: s.vpcId as string,
    subnet_id: s.subnetId as string,
    elastic_ip_id: s.eipId as string,
    status: s.status === 'none' ? 'pending' : s.status,
    private_ip: s.privateIp as string,
    public_ip: s.publicIp,
    failure_code: s.failureCode,
    failure_message: s.failureMessage,
    arn: networkArn(s.tenantId as string, 'nat-gateway', s.natGatewayId as string),
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}

/** The API shape of a VPC peering (`GET /vpc-peerings/:id`), as both tenants see it. */
export interface VpcPeeringView {
  id: string;
  status: VpcPeeringStatus;
  requester_vpc_id: string;
  requester_tenant_id: string;
  requester_cidr_block: string;
  accepter_vpc_id: string;
  accepter_tenant_id: string;
  accepter_cidr_block: string;
  expires_at: string | null;
  failure_code: string | null;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function vpcPeeringView(s: VpcPeeringState, times: RowTimes): VpcPeeringView {
  const requester = s.requester as NonNullable<VpcPeeringState['requester']>;
  const accepter = s.accepter as NonNullable<VpcPeeringState['accepter']>;
  return {
    id: s.peeringId as string,
    status: s.status === 'none' ? 'pending-acceptance' : s.status,
    requester_vpc_id: requester.vpcId,
    requester_tenant_id: requester.tenantId,
    requester_cidr_block: requester.cidrBlock,
    accepter_vpc_id: accepter.vpcId,
    accepter_tenant_id: accepter.tenantId,
    accepter_cidr_block: accepter.cidrBlock,
    expires_at: s.status === 'pending-acceptance' ? s.expiresAt : null,
    failure_code: s.failureCode,
    arn: networkArn(requester.tenantId, 'vpc-peering', s.peeringId as string),
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}
