/**
 * The network fabric on OVN: writes the northbound database with `ovn-nbctl` (one transaction per
 * call, argument arrays, no shell) and plugs NICs into `br-int` (host-plug.ts). Objects are named
 * by resource id (ovn-names.ts); rows OVN gives no name (ACLs, routes, policies, NAT rules, DHCP
 * options) are found by their `external_ids`, which every object carries along with
 * `nimbus_owner`, so `inventory()` lists exactly what this owner made.
 *
 * Idempotency: named objects use `--may-exist` / `--if-exists`; unnamed rows are looked up by
 * external id before they are created. Calls on one resource are expected in order (see the
 * port); the look-up and the create are two transactions.
 */
import { performance } from 'node:perf_hooks';

import ipaddr from 'ipaddr.js';

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
import { execCommand, type Exec } from '../exec';
import { HostPlumbing } from './host-plug';
import { defaultGroupAcls, ruleAcl, type AclDefinition } from './ovn-acl';
import {
  checkedCidr,
  checkedIp,
  checkId,
  EXT,
  macAddressOf,
  ovnNames,
  peeringLink,
} from './ovn-names';
import {
  mapColumn,
  parseOvsdbTable,
  quotedPair,
  setColumn,
  stringColumn,
  type OvsdbRow,
} from './ovsdb-json';

export interface OvnFabricOptions {
  exec?: Exec;
  /** Written as `external_ids:nimbus_owner` on everything; tests use their own. Default `nimbus`. */
  owner?: string;
  /** The logical switch of the external network gateways attach to. Default `nimbus-external`. */
  externalSwitch?: string;
  /** The name in `ovn-bridge-mappings` of the external bridge. Default `extnet`. */
  physicalNetwork?: string;
  /** Default `br-int`. */
  integrationBridge?: string;
  /** Bound of each `ovn-nbctl` call and of `waitRealized`. Default 30 s. */
  timeoutSeconds?: number;
}

type Ext = Record<string, string>;

/**
 * The options of an installation's fabric: everything it makes carries its owner mark, and its
 * gateways attach to an external switch of its own (`nimbus-external` for the default owner).
 */
export function installationFabricOptions(owner: string): OvnFabricOptions {
  return { owner, externalSwitch: `${owner}-external` };
}

export class OvnNetworkFabric implements NetworkFabric {
  readonly kind = 'ovn' as const;
  private readonly exec: Exec;
  private readonly owner: string;
  private readonly externalSwitch: string;
  private readonly physicalNetwork: string;
  private readonly timeoutSeconds: number;
  private readonly host: HostPlumbing;
  private chassis: string | undefined;

  constructor(options: OvnFabricOptions = {}) {
    this.exec = options.exec ?? execCommand;
    this.owner = checkId('owner', options.owner ?? 'nimbus');
    this.externalSwitch = checkId('external switch', options.externalSwitch ?? 'nimbus-external');
    this.physicalNetwork = checkId('physical network', options.physicalNetwork ?? 'extnet');
    this.timeoutSeconds = options.timeoutSeconds ?? 30;
    this.host = new HostPlumbing(this.exec, options.integrationBridge ?? 'br-int', this.owner);
  }

  // ------------------------------------------------------------------ routers (VPCs)

  async ensureRouter(spec: RouterSpec): Promise<void> {
    const router = ovnNames.router(spec.vpcId);
    await this.nbctl([
      '--may-exist',
      'lr-add',
      router,
      '--',
      ...this.setExternalIds('logical_router', router, {
        [EXT.vpc]: spec.vpcId,
        [EXT.tenant]: spec.tenantId,
      }),
    ]);
  }

  async removeRouter(vpcId: string): Promise<void> {
    await this.nbctl(['--if-exists', 'lr-del', ovnNames.router(vpcId)]);
  }

  // ------------------------------------------------------------------ switches (subnets)

  async ensureSwitch(spec: SwitchSpec): Promise<void> {
    const router = ovnNames.router(spec.vpcId);
    const switchName = ovnNames.switch(spec.subnetId);
    const routerPort = ovnNames.subnetRouterPort(spec.subnetId);
    const switchPort = ovnNames.subnetSwitchPort(spec.subnetId);
    const prefixLength = prefixOf(spec.cidr);
    const routerMac = macAddressOf(spec.subnetId, 'router');
    const ids = { [EXT.subnet]: spec.subnetId, [EXT.vpc]: spec.vpcId, [EXT.tenant]: spec.tenantId };
    await this.nbctl([
      '--may-exist',
      'ls-add',
      switchName,
      '--',
      ...this.setExternalIds('logical_switch', switchName, ids),
      '--',
      '--may-exist',
      'lrp-add',
      router,
      routerPort,
      routerMac,
      `${spec.gatewayIp}/${prefixLength}`,
      '--',
      ...this.setExternalIds('logical_router_port', routerPort, ids),
      '--',
      ...this.routerTypeSwitchPort(switchName, switchPort, routerPort),
    ]);

    const existing = await this.findUuids('dhcp_options', { [EXT.subnet]: spec.subnetId });
    if (existing.length === 0) {
      const options: Array<[string, string]> = [
        ['server_id', spec.gatewayIp],
        ['server_mac', routerMac],
        ['router', spec.gatewayIp],
        ['lease_time', '3600'],
        ['mtu', String(spec.mtu ?? 1500)],
      ];
      if (spec.dnsServers && spec.dnsServers.length > 0) {
        options.push(['dns_server', `{${spec.dnsServers.join(',')}}`]);
      }
      await this.nbctl([
        'create',
        'dhcp_options',
        quotedPair('cidr', spec.cidr),
        ...options.map(([key, value]) => quotedPair(`options:${key}`, value)),
        ...this.externalIdPairs(ids),
      ]);
    }
  }

  async removeSwitch(subnetId: string): Promise<void> {
    const dhcp = await this.findUuids('dhcp_options', { [EXT.subnet]: subnetId });
    await this.nbctl([
      '--if-exists',
      'lrp-del',
      ovnNames.subnetRouterPort(subnetId),
      '--',
      '--if-exists',
      'ls-del',
      ovnNames.switch(subnetId),
      ...dhcp.flatMap((uuid) => ['--', '--if-exists', 'destroy', 'dhcp_options', uuid]),
    ]);
  }

  // ------------------------------------------------------------------ NICs

  async ensureNic(spec: NicSpec): Promise<void> {
    const port = ovnNames.nic(spec.nicId);
    const address = `${spec.mac ?? macAddressOf(spec.nicId)} ${spec.ip}`;
    const dhcp = await this.findUuids('dhcp_options', { [EXT.subnet]: spec.subnetId });
    await this.nbctl([
      '--may-exist',
      'lsp-add',
      ovnNames.switch(spec.subnetId),
      port,
      '--',
      'lsp-set-addresses',
      port,
      address,
      '--',
      'lsp-set-port-security',
      port,
      address,
      '--',
      ...this.setExternalIds('logical_switch_port', port, {
        [EXT.nic]: spec.nicId,
        [EXT.subnet]: spec.subnetId,
        [EXT.tenant]: spec.tenantId,
      }),
      ...(dhcp[0] ? ['--', 'lsp-set-dhcpv4-options', port, dhcp[0]] : []),
    ]);
  }

  async removeNic(nicId: string): Promise<void> {
    await this.nbctl(['--if-exists', 'lsp-del', ovnNames.nic(nicId)]);
  }

  async plugNic(spec: PlugSpec): Promise<void> {
    await this.host.plug(spec, ovnNames.nic(spec.nicId));
  }

  async unplugNic(nicId: string): Promise<void> {
    await this.host.unplug(nicId);
  }

  // ------------------------------------------------------------------ security groups

  async ensureSecurityGroup(spec: SecurityGroupSpec): Promise<void> {
    const group = ovnNames.portGroup(spec.groupId);
    if (await this.exists('port_group', group)) return;
    const defaults = defaultGroupAcls(spec.groupId);
    const ids = { [EXT.group]: spec.groupId, [EXT.vpc]: spec.vpcId, [EXT.tenant]: spec.tenantId };
    try {
      await this.nbctl([
        'pg-add',
        group,
        '--',
        ...this.setExternalIds('port_group', group, ids),
        ...this.addAcl(group, defaults.egress, { ...ids, [EXT.role]: 'default-egress' }, '@egress'),
        ...this.addAcl(group, defaults.drop, { ...ids, [EXT.role]: 'default-drop' }, '@drop'),
      ]);
    } catch (error: unknown) {
      // Created meanwhile by a concurrent call: that is the wanted end state.
      if (!(await this.exists('port_group', group))) throw error;
    }
  }

  async removeSecurityGroup(groupId: string): Promise<void> {
    const group = ovnNames.portGroup(groupId);
    if (!(await this.exists('port_group', group))) return;
    await this.nbctl(['pg-del', group]);
  }

  async addToSecurityGroup(groupId: string, nicId: string): Promise<void> {
    await this.nbctl([
      '--',
      '--id=@port',
      'get',
      'logical_switch_port',
      ovnNames.nic(nicId),
      'name',
      '--',
      'add',
      'port_group',
      ovnNames.portGroup(groupId),
      'ports',
      '@port',
    ]);
  }

  async removeFromSecurityGroup(groupId: string, nicId: string): Promise<void> {
    const group = ovnNames.portGroup(groupId);
    const port = ovnNames.nic(nicId);
    // A deleted port has left every group already (the reference is weak).
    if (
      !(await this.exists('port_group', group)) ||
      !(await this.exists('logical_switch_port', port))
    ) {
      return;
    }
    await this.nbctl([
      '--',
      '--id=@port',
      'get',
      'logical_switch_port',
      port,
      'name',
      '--',
      'remove',
      'port_group',
      group,
      'ports',
      '@port',
    ]);
  }

  async ensureSecurityRule(spec: SecurityRuleSpec): Promise<void> {
    const acl = ruleAcl(spec);
    checkId('rule', spec.ruleId);
    if ((await this.findUuids('acl', { [EXT.rule]: spec.ruleId })).length > 0) return;
    const group = ovnNames.portGroup(spec.groupId);
    await this.nbctl(
      this.addAcl(group, acl, { [EXT.rule]: spec.ruleId, [EXT.group]: spec.groupId }, '@rule'),
    );
  }

  async removeSecurityRule(groupId: string, ruleId: string): Promise<void> {
    const group = ovnNames.portGroup(groupId);
    const acls = await this.findUuids('acl', { [EXT.rule]: checkId('rule', ruleId) });
    if (acls.length === 0 || !(await this.exists('port_group', group))) return;
    await this.nbctl(acls.flatMap((uuid) => ['--', 'remove', 'port_group', group, 'acls', uuid]));
  }

  // ------------------------------------------------------------------ routes

  async ensureStaticRoute(spec: StaticRouteSpec): Promise<void> {
    checkId('route', spec.routeId);
    const ids = { [EXT.route]: spec.routeId, [EXT.vpc]: spec.vpcId };
    if (spec.routeTableId === null) {
      const hop = await this.resolveTarget(spec.vpcId, spec.target);
      await this.ensureVpcWideRoute(spec.vpcId, spec.destinationCidr, hop, ids);
      return;
    }
    if ((await this.findUuids('logical_router_static_route', ids)).length > 0) return;
    const hop = await this.resolveTarget(spec.vpcId, spec.target);
    await this.createStaticRoute(
      spec.vpcId,
      spec.destinationCidr,
      hop,
      { [EXT.route]: spec.routeId, [EXT.vpc]: spec.vpcId },
      spec.routeTableId === null ? null : ovnNames.routeTable(spec.routeTableId),
    );
  }

  async setSubnetRouteTable(subnetId: string, routeTableId: string | null): Promise<void> {
    const port = ovnNames.subnetRouterPort(subnetId);
    if (routeTableId !== null) {
      const [row] = await this.findRows('logical_router_port', { [EXT.subnet]: subnetId }, [
        'external_ids',
      ]);
      const vpcId = row ? mapColumn(row, 'external_ids')[EXT.vpc] : undefined;
      if (vpcId) await this.copyVpcWideRoutes(vpcId, ovnNames.routeTable(routeTableId));
    }
    await this.nbctl(
      routeTableId === null
        ? ['--if-exists', 'remove', 'logical_router_port', port, 'options', 'route_table']
        : [
            'set',
            'logical_router_port',
            port,
            quotedPair('options:route_table', ovnNames.routeTable(routeTableId)),
          ],
    );
  }

  async removeStaticRoute(vpcId: string, routeId: string): Promise<void> {
    const routes = await this.findUuids('logical_router_static_route', {
      [EXT.route]: checkId('route', routeId),
    });
    await this.removeFromRouter(vpcId, 'static_routes', routes);
  }

  async ensureRoutePolicy(spec: RoutePolicySpec): Promise<void> {
    checkId('policy', spec.policyId);
    if (!Number.isInteger(spec.priority) || spec.priority < 1 || spec.priority > 32767) {
      throw new Error(`policy priority ${spec.priority} is outside 1..32767`);
    }
    if (
      (await this.findUuids('logical_router_policy', { [EXT.policy]: spec.policyId })).length > 0
    ) {
      return;
    }
    const match = [`ip4.src == ${checkedCidr(spec.sourceCidr)}`];
    if (checkedCidr(spec.destinationCidr) !== '0.0.0.0/0') {
      match.push(`ip4.dst == ${spec.destinationCidr}`);
    } else {
      match.push('ip4');
    }
    const columns = [
      quotedPair('priority', spec.priority),
      quotedPair('match', match.join(' && ')),
    ];
    if (spec.action.kind === 'reroute') {
      const hop = await this.resolveTarget(spec.vpcId, spec.action.target);
      columns.push('action=reroute', quotedPair('nexthops', hop.nextHop));
    } else {
      columns.push(`action=${spec.action.kind}`);
    }
    await this.nbctl([
      '--',
      '--id=@policy',
      'create',
      'logical_router_policy',
      ...columns,
      ...this.externalIdPairs({ [EXT.policy]: spec.policyId, [EXT.vpc]: spec.vpcId }),
      '--',
      'add',
      'logical_router',
      ovnNames.router(spec.vpcId),
      'policies',
      '@policy',
    ]);
  }

  async removeRoutePolicy(vpcId: string, policyId: string): Promise<void> {
    const policies = await this.findUuids('logical_router_policy', {
      [EXT.policy]: checkId('policy', policyId),
    });
    await this.removeFromRouter(vpcId, 'policies', policies);
  }

  // ------------------------------------------------------------------ internet gateways

  async attachGateway(spec: GatewaySpec): Promise<void> {
    const external = this.externalSwitch;
    const localnet = ovnNames.localnetPort(external);
    const routerPort = ovnNames.gatewayRouterPort(spec.gatewayId);
    const switchPort = ovnNames.gatewaySwitchPort(spec.gatewayId);
    const chassis = await this.localChassis();
    await this.nbctl([
      '--may-exist',
      'ls-add',
      external,
      '--',
      ...this.setExternalIds('logical_switch', external, { [EXT.role]: 'external' }),
      '--',
      '--may-exist',
      'lsp-add',
      external,
      localnet,
      '--',
      'lsp-set-type',
      localnet,
      'localnet',
      '--',
      'lsp-set-addresses',
      localnet,
      'unknown',
      '--',
      'lsp-set-options',
      localnet,
      `network_name=${this.physicalNetwork}`,
      '--',
      '--may-exist',
      'lrp-add',
      ovnNames.router(spec.vpcId),
      routerPort,
      macAddressOf(spec.gatewayId, 'router'),
      `${checkedIp(spec.externalIp)}/${spec.externalPrefixLength}`,
      '--',
      ...this.setExternalIds('logical_router_port', routerPort, {
        [EXT.gateway]: spec.gatewayId,
        [EXT.vpc]: spec.vpcId,
        [EXT.tenant]: spec.tenantId,
        [EXT.nextHop]: checkedIp(spec.nextHop),
      }),
      '--',
      ...this.routerTypeSwitchPort(external, switchPort, routerPort),
      '--',
      'lrp-set-gateway-chassis',
      routerPort,
      chassis,
      '1',
    ]);
  }

  async detachGateway(gatewayId: string): Promise<void> {
    await this.nbctl([
      '--if-exists',
      'lsp-del',
      ovnNames.gatewaySwitchPort(gatewayId),
      '--',
      '--if-exists',
      'lrp-del',
      ovnNames.gatewayRouterPort(gatewayId),
    ]);
  }

  // ------------------------------------------------------------------ NAT

  async ensureElasticIp(spec: ElasticIpSpec): Promise<void> {
    checkId('elastic IP', spec.eipId);
    const columns = [
      quotedPair('external_ip', checkedIp(spec.publicIp)),
      quotedPair('logical_ip', checkedIp(spec.privateIp)),
    ];
    const existing = await this.findUuids('nat', { [EXT.eip]: spec.eipId });
    if (existing.length > 0) {
      // Re-association to another address converges on the spec.
      await this.nbctl(existing.flatMap((uuid) => ['--', 'set', 'nat', uuid, ...columns]));
      return;
    }
    await this.createNat(spec.vpcId, 'dnat_and_snat', columns, {
      [EXT.eip]: spec.eipId,
      [EXT.vpc]: spec.vpcId,
    });
  }

  async removeElasticIp(vpcId: string, eipId: string): Promise<void> {
    const rules = await this.findUuids('nat', { [EXT.eip]: checkId('elastic IP', eipId) });
    await this.removeFromRouter(vpcId, 'nat', rules);
  }

  async ensureNatGateway(spec: NatGatewaySpec): Promise<void> {
    checkId('NAT gateway', spec.natGatewayId);
    const publicIp = checkedIp(spec.publicIp);
    const wanted = new Set(spec.sourceCidrs.map(checkedCidr));
    const rows = await this.findRows('nat', { [EXT.natGateway]: spec.natGatewayId }, [
      '_uuid',
      'logical_ip',
      'external_ip',
    ]);
    const stale = rows.filter(
      (row) =>
        !wanted.has(stringColumn(row, 'logical_ip')) ||
        stringColumn(row, 'external_ip') !== publicIp,
    );
    await this.removeFromRouter(
      spec.vpcId,
      'nat',
      stale.map((row) => stringColumn(row, '_uuid')),
    );
    const present = new Set(
      rows.filter((row) => !stale.includes(row)).map((row) => stringColumn(row, 'logical_ip')),
    );
    for (const cidr of wanted) {
      if (present.has(cidr)) continue;
      await this.createNat(
        spec.vpcId,
        'snat',
        [quotedPair('external_ip', publicIp), quotedPair('logical_ip', cidr)],
        { [EXT.natGateway]: spec.natGatewayId, [EXT.vpc]: spec.vpcId },
      );
    }
  }

  async removeNatGateway(vpcId: string, natGatewayId: string): Promise<void> {
    const rules = await this.findUuids('nat', {
      [EXT.natGateway]: checkId('NAT gateway', natGatewayId),
    });
    await this.removeFromRouter(vpcId, 'nat', rules);
  }

  // ------------------------------------------------------------------ peering

  async ensurePeering(spec: PeeringSpec): Promise<void> {
    const link = peeringLink(spec.peeringId);
    const requesterPort = ovnNames.peeringPort(spec.peeringId, 'requester');
    const accepterPort = ovnNames.peeringPort(spec.peeringId, 'accepter');
    await this.refuseLinkCollision(spec.peeringId, [link.requesterIp, link.accepterIp]);
    const sides = [
      { side: spec.requester, port: requesterPort, ip: link.requesterIp, peer: accepterPort },
      { side: spec.accepter, port: accepterPort, ip: link.accepterIp, peer: requesterPort },
    ];
    await this.nbctl(
      sides.flatMap(({ side, port, ip, peer }) => [
        '--',
        '--may-exist',
        'lrp-add',
        ovnNames.router(side.vpcId),
        port,
        macAddressOf(port, 'router'),
        `${ip}/${link.prefixLength}`,
        `peer=${peer}`,
        '--',
        ...this.setExternalIds('logical_router_port', port, {
          [EXT.peering]: spec.peeringId,
          [EXT.vpc]: side.vpcId,
        }),
      ]),
    );
    // Each side routes exactly the other side's CIDR over the link: never transitive.
    const routes = [
      { from: spec.requester, to: spec.accepter, port: requesterPort, nextHop: link.accepterIp },
      { from: spec.accepter, to: spec.requester, port: accepterPort, nextHop: link.requesterIp },
    ];
    for (const route of routes) {
      await this.ensureVpcWideRoute(
        route.from.vpcId,
        route.to.cidr,
        { nextHop: route.nextHop, port: route.port },
        { [EXT.peering]: spec.peeringId, [EXT.vpc]: route.from.vpcId },
      );
    }
  }

  async removePeering(peeringId: string): Promise<void> {
    const routes = await this.findRows(
      'logical_router_static_route',
      { [EXT.peering]: checkId('peering', peeringId) },
      ['_uuid', 'external_ids'],
    );
    for (const route of routes) {
      const vpcId = mapColumn(route, 'external_ids')[EXT.vpc];
      if (vpcId)
        await this.removeFromRouter(vpcId, 'static_routes', [stringColumn(route, '_uuid')]);
    }
    await this.nbctl([
      '--if-exists',
      'lrp-del',
      ovnNames.peeringPort(peeringId, 'requester'),
      '--',
      '--if-exists',
      'lrp-del',
      ovnNames.peeringPort(peeringId, 'accepter'),
    ]);
  }

  // ------------------------------------------------------------------ realization, inventory

  async waitRealized(): Promise<{ ms: number }> {
    const started = performance.now();
    await this.nbctl(['--wait=hv', 'sync']);
    return { ms: Math.round(performance.now() - started) };
  }

  async inventory(): Promise<FabricInventory> {
    const owned = async (table: string) =>
      (await this.findRows(table, {}, ['external_ids'])).map((row) => ({
        ids: mapColumn(row, 'external_ids'),
      }));
    const [routers, switches, switchPorts, groups, acls, routerPorts, nats, routes, policies] =
      await Promise.all(
        [
          'logical_router',
          'logical_switch',
          'logical_switch_port',
          'port_group',
          'acl',
          'logical_router_port',
          'nat',
          'logical_router_static_route',
          'logical_router_policy',
        ].map(owned),
      );
    const pick = <T>(rows: Array<{ ids: Ext }>, key: string, make: (id: string, ids: Ext) => T) =>
      rows.flatMap(({ ids }) => (ids[key] ? [make(ids[key], ids)] : []));
    const orNull = (value: string | undefined) => value ?? null;
    const peerings = new Set(pick(routerPorts, EXT.peering, (id) => id));
    return {
      routers: pick(routers, EXT.vpc, (vpcId, ids) => ({
        vpcId,
        tenantId: orNull(ids[EXT.tenant]),
      })),
      switches: pick(switches, EXT.subnet, (subnetId, ids) => ({
        subnetId,
        vpcId: orNull(ids[EXT.vpc]),
      })),
      nics: pick(switchPorts, EXT.nic, (nicId, ids) => ({
        nicId,
        subnetId: orNull(ids[EXT.subnet]),
      })),
      securityGroups: pick(groups, EXT.group, (groupId, ids) => ({
        groupId,
        vpcId: orNull(ids[EXT.vpc]),
      })),
      securityRules: pick(acls, EXT.rule, (ruleId, ids) => ({
        ruleId,
        groupId: orNull(ids[EXT.group]),
      })),
      gateways: pick(routerPorts, EXT.gateway, (gatewayId, ids) => ({
        gatewayId,
        vpcId: orNull(ids[EXT.vpc]),
      })),
      elasticIps: pick(nats, EXT.eip, (eipId, ids) => ({ eipId, vpcId: orNull(ids[EXT.vpc]) })),
      natGateways: uniqueBy(
        pick(nats, EXT.natGateway, (natGatewayId, ids) => ({
          natGatewayId,
          vpcId: orNull(ids[EXT.vpc]),
        })),
        (nat) => nat.natGatewayId,
      ),
      peerings: [...peerings].map((peeringId) => ({ peeringId })),
      routes: pick(routes, EXT.route, (routeId, ids) => ({ routeId, vpcId: orNull(ids[EXT.vpc]) })),
      policies: pick(policies, EXT.policy, (policyId, ids) => ({
        policyId,
        vpcId: orNull(ids[EXT.vpc]),
      })),
      hostPorts: await this.host.list(),
    };
  }

  /** Every northbound row and host port of this owner, removed (tests and full teardown). */
  async removeEverythingOwned(): Promise<void> {
    for (const port of await this.host.list()) await this.host.unplug(port.nicId);
    const rows = async (table: string) =>
      (await this.findRows(table, {}, ['_uuid'])).map((row) => stringColumn(row, '_uuid'));
    // Routers and switches take their ports, routes, policies and NAT rules with them; port
    // groups their ACLs. DHCP options are a root table of their own.
    for (const table of ['logical_router', 'logical_switch', 'port_group', 'dhcp_options']) {
      const uuids = await rows(table);
      if (uuids.length === 0) continue;
      await this.nbctl(uuids.flatMap((uuid) => ['--', '--if-exists', 'destroy', table, uuid]));
    }
  }

  // ------------------------------------------------------------------ helpers

  private async nbctl(args: readonly string[]): Promise<string> {
    const { stdout } = await this.exec('ovn-nbctl', [`--timeout=${this.timeoutSeconds}`, ...args], {
      timeoutMs: (this.timeoutSeconds + 5) * 1000,
    });
    return stdout;
  }

  private externalIdPairs(ids: Ext): string[] {
    return Object.entries({ ...ids, [EXT.owner]: this.owner }).map(([key, value]) =>
      quotedPair(`external_ids:${key}`, value),
    );
  }

  private setExternalIds(table: string, record: string, ids: Ext): string[] {
    return ['set', table, record, ...this.externalIdPairs(ids)];
  }

  /** A switch port of type router standing for `routerPort` on `switchName`. */
  private routerTypeSwitchPort(
    switchName: string,
    switchPort: string,
    routerPort: string,
  ): string[] {
    return [
      '--may-exist',
      'lsp-add',
      switchName,
      switchPort,
      '--',
      'lsp-set-type',
      switchPort,
      'router',
      '--',
      'lsp-set-addresses',
      switchPort,
      'router',
      '--',
      'lsp-set-options',
      switchPort,
      `router-port=${routerPort}`,
    ];
  }

  private addAcl(group: string, acl: AclDefinition, ids: Ext, handle: string): string[] {
    return [
      '--',
      `--id=${handle}`,
      'create',
      'acl',
      `direction=${acl.direction}`,
      quotedPair('priority', acl.priority),
      quotedPair('match', acl.match),
      `action=${acl.action}`,
      ...this.externalIdPairs(ids),
      '--',
      'add',
      'port_group',
      group,
      'acls',
      handle,
    ];
  }

  /**
   * A route for every subnet of the VPC. Once a router port names a route table, OVN looks its
   * traffic up in that table only, not in the global one, and every subnet port names one (the
   * main table is a named table too). So the route lives in the global table and in a copy per
   * table a subnet uses; `setSubnetRouteTable` copies it into a table a subnet starts using.
   */
  private async ensureVpcWideRoute(
    vpcId: string,
    destinationCidr: string,
    hop: { nextHop: string; port: string },
    ids: Ext,
  ): Promise<void> {
    const marked = { ...ids, [EXT.scope]: 'vpc' };
    const rows = await this.findRows('logical_router_static_route', marked, ['route_table']);
    const present = new Set(rows.map((row) => stringColumn(row, 'route_table')));
    for (const table of ['', ...(await this.routeTablesInUse(vpcId))]) {
      if (present.has(table)) continue;
      await this.createStaticRoute(vpcId, destinationCidr, hop, marked, table || null);
    }
  }

  /** The route tables the VPC's subnet ports name (`options:route_table`). */
  private async routeTablesInUse(vpcId: string): Promise<string[]> {
    const ports = await this.findRows('logical_router_port', { [EXT.vpc]: vpcId }, ['options']);
    const tables = ports.map((row) => mapColumn(row, 'options').route_table).filter(Boolean);
    return [...new Set(tables)];
  }

  /** Copies the VPC-wide routes of the VPC's router into `routeTable` where missing. */
  private async copyVpcWideRoutes(vpcId: string, routeTable: string): Promise<void> {
    const rows = await this.findRows(
      'logical_router_static_route',
      { [EXT.vpc]: vpcId, [EXT.scope]: 'vpc' },
      ['route_table', 'ip_prefix', 'nexthop', 'output_port', 'external_ids'],
    );
    const identity = (row: OvsdbRow) => JSON.stringify(mapColumn(row, 'external_ids'));
    const copied = new Set(
      rows.filter((row) => stringColumn(row, 'route_table') === routeTable).map(identity),
    );
    for (const row of rows) {
      if (stringColumn(row, 'route_table') !== '' || copied.has(identity(row))) continue;
      const ids = { ...mapColumn(row, 'external_ids') };
      delete ids[EXT.owner];
      await this.createStaticRoute(
        vpcId,
        stringColumn(row, 'ip_prefix'),
        { nextHop: stringColumn(row, 'nexthop'), port: stringColumn(row, 'output_port') },
        ids,
        routeTable,
      );
    }
  }

  private async createStaticRoute(
    vpcId: string,
    destinationCidr: string,
    hop: { nextHop: string; port: string },
    ids: Ext,
    routeTable: string | null = null,
  ): Promise<void> {
    await this.nbctl([
      '--',
      '--id=@route',
      'create',
      'logical_router_static_route',
      quotedPair('ip_prefix', checkedCidr(destinationCidr)),
      quotedPair('nexthop', checkedIp(hop.nextHop)),
      quotedPair('output_port', hop.port),
      ...(routeTable === null ? [] : [quotedPair('route_table', routeTable)]),
      ...this.externalIdPairs(ids),
      '--',
      'add',
      'logical_router',
      ovnNames.router(vpcId),
      'static_routes',
      '@route',
    ]);
  }

  private async createNat(vpcId: string, type: string, columns: string[], ids: Ext): Promise<void> {
    await this.nbctl([
      '--',
      '--id=@nat',
      'create',
      'nat',
      `type=${type}`,
      ...columns,
      ...this.externalIdPairs(ids),
      '--',
      'add',
      'logical_router',
      ovnNames.router(vpcId),
      'nat',
      '@nat',
    ]);
  }

  /** Removes child rows from a router (they go with it when the router is already gone). */
  private async removeFromRouter(vpcId: string, column: string, uuids: string[]): Promise<void> {
    const router = ovnNames.router(vpcId);
    if (uuids.length === 0 || !(await this.exists('logical_router', router))) return;
    await this.nbctl(
      uuids.flatMap((uuid) => ['--', 'remove', 'logical_router', router, column, uuid]),
    );
  }

  private async resolveTarget(
    vpcId: string,
    target: RouteTarget,
  ): Promise<{ nextHop: string; port: string }> {
    if (target.kind === 'gateway') {
      const port = ovnNames.gatewayRouterPort(target.gatewayId);
      const [row] = await this.findRows(
        'logical_router_port',
        { [EXT.gateway]: target.gatewayId },
        ['external_ids'],
      );
      const ids = row ? mapColumn(row, 'external_ids') : {};
      if (!row || ids[EXT.vpc] !== vpcId || !ids[EXT.nextHop]) {
        throw new Error(`internet gateway ${target.gatewayId} is not attached to VPC ${vpcId}`);
      }
      return { nextHop: ids[EXT.nextHop], port };
    }
    const link = peeringLink(target.peeringId);
    for (const side of ['requester', 'accepter'] as const) {
      const port = ovnNames.peeringPort(target.peeringId, side);
      const [row] = await this.findRows('logical_router_port', {}, ['external_ids'], port);
      if (row && mapColumn(row, 'external_ids')[EXT.vpc] === vpcId) {
        return { nextHop: side === 'requester' ? link.accepterIp : link.requesterIp, port };
      }
    }
    throw new Error(`peering ${target.peeringId} does not link VPC ${vpcId}`);
  }

  private async refuseLinkCollision(peeringId: string, ips: string[]): Promise<void> {
    const ports = await this.exec(
      'ovn-nbctl',
      [
        `--timeout=${this.timeoutSeconds}`,
        '--format=json',
        '--columns=name,networks',
        'list',
        'logical_router_port',
      ],
      { timeoutMs: (this.timeoutSeconds + 5) * 1000 },
    );
    const ours = new Set([
      ovnNames.peeringPort(peeringId, 'requester'),
      ovnNames.peeringPort(peeringId, 'accepter'),
    ]);
    for (const row of parseOvsdbTable(ports.stdout)) {
      if (ours.has(stringColumn(row, 'name'))) continue;
      const clash = setColumn(row, 'networks').find((network) =>
        ips.includes(network.split('/')[0]),
      );
      if (clash) {
        throw new Error(
          `peering ${peeringId}: link address ${clash} is already used by ${stringColumn(row, 'name')}`,
        );
      }
    }
  }

  private async localChassis(): Promise<string> {
    if (this.chassis) return this.chassis;
    const { stdout } = await this.exec('ovs-vsctl', [
      '--timeout=10',
      'get',
      'open',
      '.',
      'external-ids:system-id',
    ]);
    const chassis = stdout.trim().replace(/^"|"$/g, '');
    if (chassis === '') throw new Error('Open vSwitch has no external-ids:system-id (no chassis)');
    this.chassis = chassis;
    return chassis;
  }

  private async exists(table: string, name: string): Promise<boolean> {
    const out = await this.nbctl([
      '--bare',
      '--columns=_uuid',
      'find',
      table,
      quotedPair('name', name),
    ]);
    return out.trim() !== '';
  }

  private async findUuids(table: string, ids: Ext): Promise<string[]> {
    return (await this.findRows(table, ids, ['_uuid'])).map((row) => stringColumn(row, '_uuid'));
  }

  /** Rows of this owner whose external_ids hold `ids` (and named `name`, when given). */
  private async findRows(
    table: string,
    ids: Ext,
    columns: string[],
    name?: string,
  ): Promise<OvsdbRow[]> {
    const conditions = this.externalIdPairs(ids);
    if (name !== undefined) conditions.push(quotedPair('name', name));
    const out = await this.nbctl([
      '--format=json',
      `--columns=${columns.join(',')}`,
      'find',
      table,
      ...conditions,
    ]);
    return parseOvsdbTable(out);
  }
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

function prefixOf(cidr: string): number {
  return ipaddr.IPv4.parseCIDR(checkedCidr(cidr))[1];
}
