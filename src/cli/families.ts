/**
 * The CLI's resource families, one table each: sub-command → operationId of the committed
 * document. Options, their types and which are required come from the document (from-sdk.ts);
 * a new family is a new table here and a line in FAMILIES.
 */
import type { Family } from './from-sdk';
import type { WaitSpec } from './wait';

const INSTANCE_STEPS = ['PENDING', 'STARTING', 'RUNNING'];
const instanceWait = (until: string, failed: string[] = ['ERROR']): WaitSpec => ({
  get: 'getInstance',
  until: [until],
  failed,
  reason: ['error_reason'],
  steps: until === 'RUNNING' ? INSTANCE_STEPS : [until],
});

export const instances: Family = {
  name: 'instances',
  kind: 'instance',
  description: 'Compute instances',
  columns: ['id', 'name', 'status', 'image', 'instance_type', 'private_ip', 'created_at'],
  commands: {
    list: { op: 'listInstances' },
    get: { op: 'getInstance' },
    launch: { op: 'launchInstance', wait: instanceWait('RUNNING', ['ERROR', 'TERMINATED']) },
    update: { op: 'updateInstance' },
    stop: { op: 'stopInstance', pick: 'instance', wait: instanceWait('STOPPED') },
    start: { op: 'startInstance', pick: 'instance', wait: instanceWait('RUNNING') },
    reboot: { op: 'rebootInstance', pick: 'instance', wait: instanceWait('RUNNING') },
    pause: { op: 'pauseInstance', pick: 'instance', wait: instanceWait('PAUSED') },
    resume: { op: 'resumeInstance', pick: 'instance', wait: instanceWait('RUNNING') },
    resize: { op: 'resizeInstance', pick: 'instance' },
    terminate: { op: 'terminateInstance', wait: instanceWait('TERMINATED') },
    console: { op: 'getInstanceConsole' },
    metrics: { op: 'getInstanceMetrics' },
    types: { op: 'listInstanceTypes', columns: [] },
  },
};

export const volumes: Family = {
  name: 'volumes',
  kind: 'volume',
  description: 'Block volumes',
  columns: ['id', 'name', 'size_gb', 'status', 'instance_id', 'mount_path'],
  commands: {
    list: { op: 'listVolumes' },
    create: { op: 'createVolume' },
    get: { op: 'getVolume' },
    attach: { op: 'attachVolume' },
    detach: { op: 'detachVolume' },
    delete: { op: 'deleteVolume' },
  },
};

export const images: Family = {
  name: 'images',
  kind: 'image',
  description: 'Images',
  columns: ['id', 'name', 'status', 'is_public', 'size_bytes'],
  commands: {
    list: { op: 'listImages' },
    get: { op: 'getImage' },
    register: { op: 'registerImage' },
    import: {
      op: 'importImage',
      wait: {
        get: 'getImage',
        until: ['ACTIVE'],
        failed: ['ERROR', 'DELETED'],
        reason: ['error_reason'],
        steps: ['PENDING', 'ACTIVE'],
      },
    },
    delete: { op: 'deleteImage' },
  },
};

export const vpcs: Family = {
  name: 'vpcs',
  kind: 'vpc',
  description: 'Virtual private clouds',
  columns: ['id', 'name', 'cidr_block', 'status', 'is_default', 'created_at'],
  commands: {
    list: { op: 'listVpcs' },
    create: { op: 'createVpc' },
    get: { op: 'getVpc' },
    delete: { op: 'deleteVpc' },
  },
};

export const subnets: Family = {
  name: 'subnets',
  kind: 'subnet',
  description: 'Subnets of a VPC',
  columns: ['id', 'vpc_id', 'name', 'cidr_block', 'availability_zone', 'status'],
  commands: {
    list: { op: 'listSubnets' },
    create: { op: 'createSubnet' },
    get: { op: 'getSubnet' },
    delete: { op: 'deleteSubnet' },
  },
};

export const securityGroups: Family = {
  name: 'security-groups',
  kind: 'security group',
  description: 'Security groups and their rules',
  columns: ['id', 'vpc_id', 'name', 'description', 'is_default', 'status'],
  commands: {
    list: { op: 'listSecurityGroups' },
    create: { op: 'createSecurityGroup' },
    get: { op: 'getSecurityGroup' },
    delete: { op: 'deleteSecurityGroup' },
    attach: { op: 'attachSecurityGroup' },
    detach: { op: 'detachSecurityGroup' },
    'add-rule': { op: 'addSecurityGroupRule' },
    'remove-rule': { op: 'removeSecurityGroupRule' },
  },
};

export const routeTables: Family = {
  name: 'route-tables',
  kind: 'route table',
  description: 'Route tables of a VPC',
  columns: ['id', 'vpc_id', 'name', 'is_main', 'status'],
  commands: {
    list: { op: 'listRouteTables' },
    create: { op: 'createRouteTable' },
    get: { op: 'getRouteTable' },
    delete: { op: 'deleteRouteTable' },
    'add-route': { op: 'addRoute' },
    'remove-route': { op: 'removeRoute' },
    associate: { op: 'associateRouteTable' },
    disassociate: { op: 'disassociateRouteTable' },
  },
};

export const internetGateways: Family = {
  name: 'internet-gateways',
  kind: 'internet gateway',
  description: 'Internet gateways',
  columns: ['id', 'vpc_id', 'status', 'created_at'],
  commands: {
    list: { op: 'listInternetGateways' },
    create: { op: 'createInternetGateway' },
    get: { op: 'getInternetGateway' },
    delete: { op: 'deleteInternetGateway' },
    attach: { op: 'attachInternetGateway' },
    detach: { op: 'detachInternetGateway' },
  },
};

export const elasticIps: Family = {
  name: 'elastic-ips',
  kind: 'elastic IP',
  description: 'Elastic IPs',
  columns: ['id', 'public_ip', 'status', 'instance_id', 'nat_gateway_id', 'private_ip'],
  commands: {
    list: { op: 'listElasticIps' },
    allocate: { op: 'allocateElasticIp' },
    get: { op: 'getElasticIp' },
    release: { op: 'releaseElasticIp' },
    associate: { op: 'associateElasticIp' },
    disassociate: { op: 'disassociateElasticIp' },
  },
};

export const natGateways: Family = {
  name: 'nat-gateways',
  kind: 'NAT gateway',
  description: 'NAT gateways',
  columns: ['id', 'vpc_id', 'subnet_id', 'status', 'public_ip', 'private_ip'],
  commands: {
    list: { op: 'listNatGateways' },
    create: {
      op: 'createNatGateway',
      wait: {
        get: 'getNatGateway',
        until: ['active'],
        failed: ['failed', 'deleted'],
        reason: ['failure_message', 'failure_code'],
        steps: ['pending', 'active'],
      },
    },
    get: { op: 'getNatGateway' },
    delete: {
      op: 'deleteNatGateway',
      wait: {
        get: 'getNatGateway',
        until: ['deleted'],
        gone: true,
        steps: ['deleting', 'deleted'],
      },
    },
  },
};

const PEERING_SETTLED: WaitSpec = {
  get: 'getVpcPeering',
  until: ['active'],
  failed: ['failed', 'rejected', 'expired', 'deleted'],
  reason: ['failure_code'],
  steps: ['pending-acceptance', 'provisioning', 'active'],
};

export const vpcPeerings: Family = {
  name: 'vpc-peerings',
  kind: 'VPC peering',
  description: 'VPC peering connections',
  columns: ['id', 'status', 'requester_vpc_id', 'accepter_vpc_id', 'expires_at'],
  commands: {
    list: { op: 'listVpcPeerings' },
    request: { op: 'requestVpcPeering' },
    get: { op: 'getVpcPeering' },
    accept: { op: 'acceptVpcPeering', wait: PEERING_SETTLED },
    reject: {
      op: 'rejectVpcPeering',
      wait: { get: 'getVpcPeering', until: ['rejected'], steps: ['rejected'] },
    },
    delete: {
      op: 'deleteVpcPeering',
      wait: {
        get: 'getVpcPeering',
        until: ['deleted'],
        gone: true,
        steps: ['deleting', 'deleted'],
      },
    },
  },
};

export const keys: Family = {
  name: 'keys',
  kind: 'key',
  description: 'API keys',
  columns: ['id', 'name', 'prefix', 'kind', 'created_at', 'expires_at'],
  commands: {
    list: { op: 'listApiKeys' },
    create: { op: 'createApiKey' },
    revoke: { op: 'revokeApiKey' },
    rotate: { op: 'rotateApiKey' },
  },
};

export const FAMILIES: readonly Family[] = [
  instances,
  volumes,
  images,
  vpcs,
  subnets,
  securityGroups,
  routeTables,
  internetGateways,
  elasticIps,
  natGateways,
  vpcPeerings,
  keys,
];
