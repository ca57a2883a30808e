import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';

export const ELASTIC_IP_QUOTA = 'elastic_ips';
export const NAT_GATEWAY_QUOTA = 'nat_gateways';
export const VPC_QUOTA = 'vpcs';

/** The edge's quotas (every tenant's default limits; operators override them per tenant). */
export const EDGE_QUOTAS: readonly QuotaDefinition[] = [
  defineQuota({
    name: VPC_QUOTA,
    defaultLimit: 5,
    description: 'VPCs not deleted (the default VPC made by a launch counts too)',
  }),
  defineQuota({
    name: ELASTIC_IP_QUOTA,
    defaultLimit: 5,
    description: 'Elastic IPs allocated (released ones do not count)',
  }),
  defineQuota({
    name: NAT_GATEWAY_QUOTA,
    defaultLimit: 5,
    description: 'NAT gateways not deleted (failed ones count until deleted)',
  }),
];
