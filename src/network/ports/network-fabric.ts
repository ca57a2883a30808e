/**
 * The port the networking context drives the data plane through. Two adapters under
 * `src/drivers/ovn/`: `OvnNetworkFabric` (OVN's northbound database, and veth pairs plugged into
 * `br-int`) and `SimulatedNetworkFabric` (in memory, for machines without OVN).
 *
 * Each cloud object is one fabric object, named by the resource's id:
 *
 *   VPC -> router, subnet -> switch + router port + DHCP options, NIC -> switch port (addresses
 *   and port security) plugged as a veth into a network namespace, security group -> port group
 *   + ACLs, route table -> an OVN route table (its routes, and the subnets whose router ports
 *   use it), route -> static route (or policy), internet gateway -> gateway port on the external
 *   network, elastic IP -> dnat_and_snat, NAT gateway -> snat, peering -> two linked router ports
 *   + a static route on each side for exactly the other side's CIDR.
 *
 * Every call is idempotent: `ensure*` creates what is missing and leaves what is there, `remove*`
 * deletes what is present and succeeds on what is gone. A call repeated after a crash is
 * harmless. Calls on different resources may run concurrently; calls on one resource are
 * expected in order (its saga or handler serializes them). `ensure*` returns once the database
 * holds the change; `waitRealized()` returns once the host has installed everything written so
 * far, so a step reports success only for a network that carries packets.
 *
 * Ids are the resources' ids (UUIDs in the application; any of `A-Z a-z 0-9 -`, at most 64
 * characters); addresses are dotted IPv4 strings and CIDRs `a.b.c.d/n`, already validated by the
 * domain.
 */

export const NETWORK_FABRIC = Symbol('NETWORK_FABRIC');

export interface RouterSpec {
  vpcId: string;
  tenantId: string;
  cidr: string;
}

export interface SwitchSpec {
  subnetId: string;
  vpcId: string;
  tenantId: string;
  cidr: string;
  /** The router's address on the subnet (its first usable address by convention). */
  gatewayIp: string;
  /** Offered by DHCP; default 1500 (1442 once Geneve tunnels join several hosts). */
  mtu?: number;
  dnsServers?: readonly string[];
}

export interface NicSpec {
  nicId: string;
  subnetId: string;
  tenantId: string;
  ip: string;
  /** Default: derived from the NIC id (`macAddressOf`). */
  mac?: string;
}

/** A network namespace: one made with `ip netns add`, or a process's (a container's) own. */
export type NetnsRef = { kind: 'named'; name: string } | { kind: 'pid'; pid: number };

export interface PlugSpec {
  nicId: string;
  ip: string;
  prefixLength: number;
  gatewayIp: string;
  netns: NetnsRef;
  /** The NIC's name inside the namespace. Default `eth0`. */
  interfaceName?: string;
  /** Default: derived from the NIC id, as for NicSpec. */
  mac?: string;
}

export interface SecurityGroupSpec {
  groupId: string;
  vpcId: string;
  tenantId: string;
}

/** Where a rule admits traffic from (ingress) or to (egress). */
export type RulePeer = { kind: 'cidr'; cidr: string } | { kind: 'group'; groupId: string };

export type RuleProtocol = 'tcp' | 'udp' | 'icmp' | 'all';

/**
 * An allow rule. Groups are stateful: replies to allowed traffic pass both ways. A group admits
 * no ingress but what its rules allow, and all egress.
 */
export interface SecurityRuleSpec {
  ruleId: string;
  groupId: string;
  direction: 'ingress' | 'egress';
  protocol: RuleProtocol;
  /** Inclusive destination port range for tcp and udp; both null for every port. */
  portMin: number | null;
  portMax: number | null;
  peer: RulePeer;
}

/** Where a route sends traffic: the upstream of an attached internet gateway, or a peering. */
export type RouteTarget =
  { kind: 'gateway'; gatewayId: string } | { kind: 'peering'; peeringId: string };

/**
 * A static route on the VPC's router. In a route table, it applies only to the traffic of the
 * subnets that use that table (`setSubnetRouteTable`); without one (null) it applies to every
 * subnet. The subnets' own blocks (the `local` route) are always reachable.
 */
export interface StaticRouteSpec {
  routeId: string;
  vpcId: string;
  routeTableId: string | null;
  destinationCidr: string;
  target: RouteTarget;
}

/**
 * A route for the traffic of some sources only (a policy on the VPC's router, evaluated after the
 * static routes): how a route table applies to the subnets associated with it.
 */
export interface RoutePolicySpec {
  policyId: string;
  vpcId: string;
  /** Higher wins. 1..32767. */
  priority: number;
  sourceCidr: string;
  destinationCidr: string;
  action: { kind: 'reroute'; target: RouteTarget } | { kind: 'drop' } | { kind: 'allow' };
}

export interface GatewaySpec {
  gatewayId: string;
  vpcId: string;
  tenantId: string;
  /** The router's address on the external network, and that network's prefix length. */
  externalIp: string;
  externalPrefixLength: number;
  /** The upstream router on the external network that default routes go to. */
  nextHop: string;
}

export interface ElasticIpSpec {
  eipId: string;
  vpcId: string;
  publicIp: string;
  privateIp: string;
}

export interface NatGatewaySpec {
  natGatewayId: string;
  vpcId: string;
  publicIp: string;
  /** The CIDRs whose outbound traffic leaves from publicIp (the subnets routed to this NAT). */
  sourceCidrs: readonly string[];
}

export interface PeeringSide {
  vpcId: string;
  cidr: string;
}

export interface PeeringSpec {
  peeringId: string;
  requester: PeeringSide;
  accepter: PeeringSide;
}

/** Everything the fabric holds that Nimbus made, for reconcile against the read models. */
export interface FabricInventory {
  routers: Array<{ vpcId: string; tenantId: string | null }>;
  switches: Array<{ subnetId: string; vpcId: string | null }>;
  nics: Array<{ nicId: string; subnetId: string | null }>;
  securityGroups: Array<{ groupId: string; vpcId: string | null }>;
  securityRules: Array<{ ruleId: string; groupId: string | null }>;
  gateways: Array<{ gatewayId: string; vpcId: string | null }>;
  elasticIps: Array<{ eipId: string; vpcId: string | null }>;
  natGateways: Array<{ natGatewayId: string; vpcId: string | null }>;
  peerings: Array<{ peeringId: string }>;
  routes: Array<{ routeId: string; vpcId: string | null }>;
  policies: Array<{ policyId: string; vpcId: string | null }>;
  /** NICs plugged into a namespace on this host (their host ends). */
  hostPorts: Array<{ nicId: string; device: string }>;
}

export interface NetworkFabric {
  readonly kind: 'ovn' | 'simulated';

  ensureRouter(spec: RouterSpec): Promise<void>;
  /** Removes the router with everything on it (ports, routes, policies, NAT rules). */
  removeRouter(vpcId: string): Promise<void>;

  ensureSwitch(spec: SwitchSpec): Promise<void>;
  /** Removes the switch, its router port and its DHCP options. */
  removeSwitch(subnetId: string): Promise<void>;

  ensureNic(spec: NicSpec): Promise<void>;
  removeNic(nicId: string): Promise<void>;
  /** Plugs the NIC into a namespace: a veth whose inner end carries its MAC, IP and route. */
  plugNic(spec: PlugSpec): Promise<void>;
  unplugNic(nicId: string): Promise<void>;

  ensureSecurityGroup(spec: SecurityGroupSpec): Promise<void>;
  removeSecurityGroup(groupId: string): Promise<void>;
  addToSecurityGroup(groupId: string, nicId: string): Promise<void>;
  removeFromSecurityGroup(groupId: string, nicId: string): Promise<void>;
  ensureSecurityRule(spec: SecurityRuleSpec): Promise<void>;
  removeSecurityRule(groupId: string, ruleId: string): Promise<void>;

  ensureStaticRoute(spec: StaticRouteSpec): Promise<void>;
  /**
   * Routes the subnet's traffic by the routes of `routeTableId` (the main table or the one it is
   * associated with); null leaves it with the VPC-wide routes only.
   */
  setSubnetRouteTable(subnetId: string, routeTableId: string | null): Promise<void>;
  removeStaticRoute(vpcId: string, routeId: string): Promise<void>;
  ensureRoutePolicy(spec: RoutePolicySpec): Promise<void>;
  removeRoutePolicy(vpcId: string, policyId: string): Promise<void>;

  attachGateway(spec: GatewaySpec): Promise<void>;
  detachGateway(gatewayId: string): Promise<void>;

  ensureElasticIp(spec: ElasticIpSpec): Promise<void>;
  removeElasticIp(vpcId: string, eipId: string): Promise<void>;

  /** Makes the NAT gateway's snat rules exactly `sourceCidrs`. */
  ensureNatGateway(spec: NatGatewaySpec): Promise<void>;
  removeNatGateway(vpcId: string, natGatewayId: string): Promise<void>;

  ensurePeering(spec: PeeringSpec): Promise<void>;
  removePeering(peeringId: string): Promise<void>;

  /** Returns once the host has installed everything written so far; resolves with the time taken. */
  waitRealized(): Promise<{ ms: number }>;

  inventory(): Promise<FabricInventory>;
}
