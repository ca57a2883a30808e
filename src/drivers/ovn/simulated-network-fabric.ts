/**
 * The network fabric in memory, for machines without OVN (announced as `simulated` at start-up
 * and in /health/ready). It carries no packets; it keeps what the OVN fabric would hold, with the
 * same idempotency and the same refusals where OVN refuses (a switch on a missing router, a NIC on
 * a missing switch, a route to a gateway that is not attached, a peering link already in use), so
 * the API behaves the same on both.
 */
import type {
  ElasticIpSpec,
  FabricInventory,
  GatewaySpec,
  NatGatewaySpec,
  NetworkFabric,
  NicSpec,
  PeeringSpec,
  PlugSpec,
  RoutePolicySpec,
  RouterSpec,
  RouteTarget,
  SecurityGroupSpec,
  SecurityRuleSpec,
  StaticRouteSpec,
  SwitchSpec,
} from '../../network/ports/network-fabric';
import { ruleAcl } from './ovn-acl';
import { checkedCidr, checkedIp, checkId, hostDevices, ovnNames } from './ovn-names';

export class SimulatedNetworkFabric implements NetworkFabric {
  readonly kind = 'simulated' as const;
  private readonly routers = new Map<string, RouterSpec>();
  private readonly switches = new Map<string, SwitchSpec>();
  private readonly nics = new Map<string, NicSpec>();
  private readonly plugged = new Map<string, PlugSpec>();
  private readonly groups = new Map<string, SecurityGroupSpec & { members: Set<string> }>();
  private readonly rules = new Map<string, SecurityRuleSpec>();
  private readonly routes = new Map<string, StaticRouteSpec>();
  private readonly policies = new Map<string, RoutePolicySpec>();
  private readonly gateways = new Map<string, GatewaySpec>();
  private readonly elasticIps = new Map<string, ElasticIpSpec>();
  private readonly natGateways = new Map<string, NatGatewaySpec>();
  private readonly peerings = new Map<string, PeeringSpec>();
  private readonly subnetRouteTables = new Map<string, string>();

  async ensureRouter(spec: RouterSpec): Promise<void> {
    ovnNames.router(spec.vpcId);
    checkedCidr(spec.cidr);
    if (!this.routers.has(spec.vpcId)) this.routers.set(spec.vpcId, { ...spec });
  }

  async removeRouter(vpcId: string): Promise<void> {
    this.routers.delete(vpcId);
    // The router's ports, routes, policies and NAT rules go with it, as in OVN.
    for (const [id, spec] of this.routes) if (spec.vpcId === vpcId) this.routes.delete(id);
    for (const [id, spec] of this.policies) if (spec.vpcId === vpcId) this.policies.delete(id);
    for (const [id, spec] of this.elasticIps) if (spec.vpcId === vpcId) this.elasticIps.delete(id);
    for (const [id, spec] of this.natGateways)
      if (spec.vpcId === vpcId) this.natGateways.delete(id);
    for (const [id, spec] of this.gateways) if (spec.vpcId === vpcId) this.gateways.delete(id);
    for (const [id, spec] of this.peerings) {
      if (spec.requester.vpcId === vpcId || spec.accepter.vpcId === vpcId) this.peerings.delete(id);
    }
  }

  async ensureSwitch(spec: SwitchSpec): Promise<void> {
    ovnNames.switch(spec.subnetId);
    checkedCidr(spec.cidr);
    checkedIp(spec.gatewayIp);
    this.requireRouter(spec.vpcId);
    if (!this.switches.has(spec.subnetId)) this.switches.set(spec.subnetId, { ...spec });
  }

  async removeSwitch(subnetId: string): Promise<void> {
    this.switches.delete(subnetId);
    this.subnetRouteTables.delete(subnetId);
    for (const [id, nic] of this.nics) if (nic.subnetId === subnetId) this.deleteNic(id);
  }

  async ensureNic(spec: NicSpec): Promise<void> {
    ovnNames.nic(spec.nicId);
    checkedIp(spec.ip);
    if (!this.switches.has(spec.subnetId)) {
      throw new Error(`subnet ${spec.subnetId} has no switch`);
    }
    const existing = this.nics.get(spec.nicId);
    if (existing && existing.subnetId !== spec.subnetId) {
      throw new Error(`NIC ${spec.nicId} already exists on subnet ${existing.subnetId}`);
    }
    this.nics.set(spec.nicId, { ...spec });
  }

  async removeNic(nicId: string): Promise<void> {
    this.deleteNic(nicId);
  }

  async plugNic(spec: PlugSpec): Promise<void> {
    hostDevices.hostEnd(spec.nicId);
    checkedIp(spec.ip);
    checkedIp(spec.gatewayIp);
    this.plugged.set(spec.nicId, { ...spec });
  }

  async unplugNic(nicId: string): Promise<void> {
    this.plugged.delete(nicId);
  }

  async ensureSecurityGroup(spec: SecurityGroupSpec): Promise<void> {
    ovnNames.portGroup(spec.groupId);
    if (!this.groups.has(spec.groupId)) {
      this.groups.set(spec.groupId, { ...spec, members: new Set() });
    }
  }

  async removeSecurityGroup(groupId: string): Promise<void> {
    this.groups.delete(groupId);
    for (const [id, rule] of this.rules) if (rule.groupId === groupId) this.rules.delete(id);
  }

  async addToSecurityGroup(groupId: string, nicId: string): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) throw new Error(`security group ${groupId} does not exist`);
    if (!this.nics.has(nicId)) throw new Error(`NIC ${nicId} does not exist`);
    group.members.add(nicId);
  }

  async removeFromSecurityGroup(groupId: string, nicId: string): Promise<void> {
    this.groups.get(groupId)?.members.delete(nicId);
  }

  async ensureSecurityRule(spec: SecurityRuleSpec): Promise<void> {
    ruleAcl(spec);
    checkId('rule', spec.ruleId);
    if (!this.groups.has(spec.groupId)) {
      throw new Error(`security group ${spec.groupId} does not exist`);
    }
    if (!this.rules.has(spec.ruleId)) this.rules.set(spec.ruleId, { ...spec });
  }

  async removeSecurityRule(_groupId: string, ruleId: string): Promise<void> {
    this.rules.delete(ruleId);
  }

  async ensureStaticRoute(spec: StaticRouteSpec): Promise<void> {
    checkId('route', spec.routeId);
    checkedCidr(spec.destinationCidr);
    if (this.routes.has(spec.routeId)) return;
    this.requireRouter(spec.vpcId);
    this.requireTarget(spec.vpcId, spec.target);
    this.routes.set(spec.routeId, { ...spec });
  }

  async setSubnetRouteTable(subnetId: string, routeTableId: string | null): Promise<void> {
    if (!this.switches.has(subnetId)) throw new Error(`subnet ${subnetId} has no switch`);
    if (routeTableId === null) this.subnetRouteTables.delete(subnetId);
    else this.subnetRouteTables.set(subnetId, ovnNames.routeTable(routeTableId));
  }

  /** The route table a subnet's traffic is routed by (for tests). */
  routeTableOf(subnetId: string): string | null {
    return this.subnetRouteTables.get(subnetId) ?? null;
  }

  async removeStaticRoute(_vpcId: string, routeId: string): Promise<void> {
    this.routes.delete(routeId);
  }

  async ensureRoutePolicy(spec: RoutePolicySpec): Promise<void> {
    checkId('policy', spec.policyId);
    checkedCidr(spec.sourceCidr);
    checkedCidr(spec.destinationCidr);
    if (!Number.isInteger(spec.priority) || spec.priority < 1 || spec.priority > 32767) {
      throw new Error(`policy priority ${spec.priority} is outside 1..32767`);
    }
    if (this.policies.has(spec.policyId)) return;
    this.requireRouter(spec.vpcId);
    if (spec.action.kind === 'reroute') this.requireTarget(spec.vpcId, spec.action.target);
    this.policies.set(spec.policyId, { ...spec });
  }

  async removeRoutePolicy(_vpcId: string, policyId: string): Promise<void> {
    this.policies.delete(policyId);
  }

  async attachGateway(spec: GatewaySpec): Promise<void> {
    ovnNames.gatewayRouterPort(spec.gatewayId);
    checkedIp(spec.externalIp);
    checkedIp(spec.nextHop);
    this.requireRouter(spec.vpcId);
    const existing = this.gateways.get(spec.gatewayId);
    if (existing && existing.vpcId !== spec.vpcId) {
      throw new Error(`internet gateway ${spec.gatewayId} is attached to VPC ${existing.vpcId}`);
    }
    this.gateways.set(spec.gatewayId, { ...spec });
  }

  async detachGateway(gatewayId: string): Promise<void> {
    this.gateways.delete(gatewayId);
  }

  async ensureElasticIp(spec: ElasticIpSpec): Promise<void> {
    checkId('elastic IP', spec.eipId);
    checkedIp(spec.publicIp);
    checkedIp(spec.privateIp);
    this.requireRouter(spec.vpcId);
    this.elasticIps.set(spec.eipId, { ...spec });
  }

  async removeElasticIp(_vpcId: string, eipId: string): Promise<void> {
    this.elasticIps.delete(eipId);
  }

  async ensureNatGateway(spec: NatGatewaySpec): Promise<void> {
    checkId('NAT gateway', spec.natGatewayId);
    checkedIp(spec.publicIp);
    spec.sourceCidrs.forEach(checkedCidr);
    this.requireRouter(spec.vpcId);
    this.natGateways.set(spec.natGatewayId, { ...spec, sourceCidrs: [...spec.sourceCidrs] });
  }

  async removeNatGateway(_vpcId: string, natGatewayId: string): Promise<void> {
    this.natGateways.delete(natGatewayId);
  }

  async ensurePeering(spec: PeeringSpec): Promise<void> {
    ovnNames.peeringPort(spec.peeringId, 'requester');
    this.requireRouter(spec.requester.vpcId);
    this.requireRouter(spec.accepter.vpcId);
    if (!this.peerings.has(spec.peeringId)) {
      this.peerings.set(spec.peeringId, {
        peeringId: spec.peeringId,
        requester: { ...spec.requester },
        accepter: { ...spec.accepter },
      });
    }
  }

  async removePeering(peeringId: string): Promise<void> {
    this.peerings.delete(peeringId);
  }

  async waitRealized(): Promise<{ ms: number }> {
    return { ms: 0 };
  }

  async inventory(): Promise<FabricInventory> {
    return {
      routers: [...this.routers.values()].map((r) => ({ vpcId: r.vpcId, tenantId: r.tenantId })),
      switches: [...this.switches.values()].map((s) => ({ subnetId: s.subnetId, vpcId: s.vpcId })),
      nics: [...this.nics.values()].map((n) => ({ nicId: n.nicId, subnetId: n.subnetId })),
      securityGroups: [...this.groups.values()].map((g) => ({
        groupId: g.groupId,
        vpcId: g.vpcId,
      })),
      securityRules: [...this.rules.values()].map((r) => ({
        ruleId: r.ruleId,
        groupId: r.groupId,
      })),
      gateways: [...this.gateways.values()].map((g) => ({
        gatewayId: g.gatewayId,
        vpcId: g.vpcId,
      })),
      elasticIps: [...this.elasticIps.values()].map((e) => ({ eipId: e.eipId, vpcId: e.vpcId })),
      natGateways: [...this.natGateways.values()].map((n) => ({
        natGatewayId: n.natGatewayId,
        vpcId: n.vpcId,
      })),
      peerings: [...this.peerings.keys()].map((peeringId) => ({ peeringId })),
      routes: [...this.routes.values()].map((r) => ({ routeId: r.routeId, vpcId: r.vpcId })),
      policies: [...this.policies.values()].map((p) => ({ policyId: p.policyId, vpcId: p.vpcId })),
      hostPorts: [...this.plugged.keys()].map((nicId) => ({
        nicId,
        device: hostDevices.hostEnd(nicId),
      })),
    };
  }

  /** The members of a security group (for tests). */
  membersOf(groupId: string): string[] {
    return [...(this.groups.get(groupId)?.members ?? [])];
  }

  private deleteNic(nicId: string): void {
    this.nics.delete(nicId);
    for (const group of this.groups.values()) group.members.delete(nicId);
  }

  private requireRouter(vpcId: string): void {
    if (!this.routers.has(vpcId)) throw new Error(`VPC ${vpcId} has no router`);
  }

  private requireTarget(vpcId: string, target: RouteTarget): void {
    if (target.kind === 'gateway') {
      if (this.gateways.get(target.gatewayId)?.vpcId !== vpcId) {
        throw new Error(`internet gateway ${target.gatewayId} is not attached to VPC ${vpcId}`);
      }
      return;
    }
    const peering = this.peerings.get(target.peeringId);
    if (!peering || (peering.requester.vpcId !== vpcId && peering.accepter.vpcId !== vpcId)) {
      throw new Error(`peering ${target.peeringId} does not link VPC ${vpcId}`);
    }
  }
}
