/**
 * The tenant's default VPC, created on first use by a launch that names neither a VPC nor a
 * subnet, as cloud users expect. Its ids derive from the tenant (so two first launches racing
 * create one VPC: the second append finds the stream and is a no-op) and its block is the one
 * AWS gives default VPCs, with one default subnet.
 */
import { uuidV5 } from '../../common/ids';

export const DEFAULT_VPC_NAME = 'default';
export const DEFAULT_VPC_BLOCK = '172.31.0.0/16';
export const DEFAULT_SUBNET_NAME = 'default';
export const DEFAULT_SUBNET_BLOCK = '172.31.0.0/20';
export const DEFAULT_AVAILABILITY_ZONE = 'local-1a';

export interface DefaultVpcIds {
  vpcId: string;
  subnetId: string;
}

export function defaultVpcIdsOf(tenantId: string): DefaultVpcIds {
  return {
    vpcId: uuidV5(`default-vpc/${tenantId}`),
    subnetId: uuidV5(`default-subnet/${tenantId}`),
  };
}

export function isDefaultVpc(tenantId: string, vpcId: string): boolean {
  return defaultVpcIdsOf(tenantId).vpcId === vpcId;
}
