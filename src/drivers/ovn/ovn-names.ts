/**
 * Names of the OVN and host objects behind each cloud object, all derived from resource ids, so
 * every operation finds what an earlier (possibly interrupted) run made.
 *
 * Ids end up inside ACL match expressions (port group names) and command lines, so they are
 * checked first: letters, digits and `-` only. Port group names must also be valid identifiers in
 * OVN's match language (no `-`), hence `nimbus_sg_<id with _>`. Linux interface names hold at
 * most 15 characters: host devices use a hash of the NIC id.
 */
import { createHash } from 'node:crypto';

import ipaddr from 'ipaddr.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

export class InvalidFabricIdError extends Error {
  constructor(what: string, id: string) {
    super(`${what} id ${JSON.stringify(id)} is not usable in OVN: expected 1-64 of A-Z a-z 0-9 -`);
    this.name = 'InvalidFabricIdError';
  }
}

export function checkId(what: string, id: string): string {
  if (!ID_PATTERN.test(id)) throw new InvalidFabricIdError(what, id);
  return id;
}

/** Addresses are spliced into match expressions and command lines: dotted IPv4 only. */
export function checkedIp(ip: string): string {
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) {
    throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  }
  return ip;
}

export function checkedCidr(cidr: string): string {
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr)) {
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  }
  return cidr;
}

/** Keys of the external_ids every object carries. */
export const EXT = {
  owner: 'nimbus_owner',
  tenant: 'nimbus_tenant',
  vpc: 'nimbus_vpc',
  subnet: 'nimbus_subnet',
  nic: 'nimbus_nic',
  group: 'nimbus_sg',
  rule: 'nimbus_sg_rule',
  gateway: 'nimbus_igw',
  nextHop: 'nimbus_next_hop',
  eip: 'nimbus_eip',
  natGateway: 'nimbus_nat',
  peering: 'nimbus_peering',
  route: 'nimbus_route',
  policy: 'nimbus_policy',
  /** `vpc` on the copies of a route that applies to every subnet of the VPC. */
  scope: 'nimbus_scope',
  role: 'nimbus_role',
} as const;

export const ovnNames = {
  router: (vpcId: string) => `nimbus-vpc-${checkId('VPC', vpcId)}`,
  switch: (subnetId: string) => `nimbus-subnet-${checkId('subnet', subnetId)}`,
  /** The router's port on a subnet, and its switch-side twin. */
  subnetRouterPort: (subnetId: string) => `nimbus-rp-${checkId('subnet', subnetId)}`,
  subnetSwitchPort: (subnetId: string) => `nimbus-rsp-${checkId('subnet', subnetId)}`,
  nic: (nicId: string) => `nimbus-nic-${checkId('NIC', nicId)}`,
  /** The value of a static route's `route_table` and of a router port's `options:route_table`. */
  routeTable: (routeTableId: string) => `nimbus-rtb-${checkId('route table', routeTableId)}`,
  portGroup: (groupId: string) =>
    `nimbus_sg_${checkId('security group', groupId).replace(/-/g, '_')}`,
  gatewayRouterPort: (gatewayId: string) => `nimbus-gw-${checkId('internet gateway', gatewayId)}`,
  gatewaySwitchPort: (gatewayId: string) => `nimbus-gwsp-${checkId('internet gateway', gatewayId)}`,
  peeringPort: (peeringId: string, side: 'requester' | 'accepter') =>
    `nimbus-peer-${checkId('peering', peeringId)}-${side === 'requester' ? 'r' : 'a'}`,
  localnetPort: (externalSwitch: string) => `${externalSwitch}-localnet`,
} as const;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Host devices of a plugged NIC: the end on br-int, and the inner end before it is renamed. */
export const hostDevices = {
  hostEnd: (nicId: string) => `nh${digest(checkId('NIC', nicId)).toString('hex').slice(0, 13)}`,
  innerEnd: (nicId: string) => `ni${digest(checkId('NIC', nicId)).toString('hex').slice(0, 13)}`,
} as const;

/**
 * A locally administered unicast MAC derived from an id: `0a:` for router ports, `02:` for NICs,
 * then five bytes of the id's hash.
 */
export function macAddressOf(id: string, kind: 'nic' | 'router' = 'nic'): string {
  const bytes = digest(`${kind}:${id}`).subarray(0, 5);
  const first = kind === 'nic' ? '02' : '0a';
  return [first, ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The /30 linking the two routers of a peering, in 169.254.0.0/16 (link-local, never routed):
 * the requester takes the first host address, the accepter the second. Derived from the peering
 * id; two peerings on one router sharing a /30 has a chance of about 1 in 16,384 per pair, and
 * `ensurePeering` refuses it instead of linking wrongly.
 */
export function peeringLink(peeringId: string): {
  requesterIp: string;
  accepterIp: string;
  prefixLength: 30;
} {
  const hash = digest(`peering:${checkId('peering', peeringId)}`);
  const block = hash.readUInt16BE(0) & 0x3fff; // 16,384 /30 blocks in a /16
  const third = block >> 6;
  const fourth = (block & 0x3f) << 2;
  return {
    requesterIp: `169.254.${third}.${fourth + 1}`,
    accepterIp: `169.254.${third}.${fourth + 2}`,
    prefixLength: 30,
  };
}
