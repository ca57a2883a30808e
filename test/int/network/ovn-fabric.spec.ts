/**
 * The OVN network fabric on this machine's real OVN, checked with real packets between network
 * namespaces the test creates. Under CI=true a missing OVN fails the file; elsewhere it is skipped
 * with a loud message.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { execCommand } from '../../../src/drivers/exec';
import { OvnNetworkFabric } from '../../../src/drivers/ovn/ovn-network-fabric';
import { probeOvn } from '../../../src/drivers/ovn/ovn-probe';
import { isCI } from '../drivers/real-backends';
import {
  addNetns,
  addOutsideNetns,
  deleteNetns,
  eventually,
  leftoverNetns,
  pings,
  removeOwnedBridgePorts,
  sourceAddressSeen,
  tcpConnects,
} from './netns';

const OWNER = 'nimbus-int-ovn';
const EXTERNAL_SWITCH = 'nimbus-int-ovn-ext';
/** Held by the outside namespace behind its 100.64.0.1: reached only through a default route. */
const INTERNET = '198.18.0.1';
// Collection needs a synchronous answer: OVN is there when its northbound database's socket is.
// beforeAll then probes it fully (databases, northd, controller, this host's chassis).
const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
if (!ovnPresent) {
  console.warn(
    `\n[network] ${isCI ? 'FAILING' : 'SKIPPING'} the OVN fabric tests: OVN is not running ` +
      `(no /var/run/ovn/ovnnb_db.sock). Start it as .ci/run does (section "ovn").\n`,
  );
}

interface Nic {
  nicId: string;
  ip: string;
  netns: string;
}

describe.skipIf(!ovnPresent && !isCI)('OVN network fabric (real OVN, namespaces)', () => {
  const fabric = new OvnNetworkFabric({ owner: OWNER, externalSwitch: EXTERNAL_SWITCH });
  const tenantId = randomUUID();
  const realization: number[] = [];
  const namespaces: string[] = [];

  const vpc = (cidr: string) => ({ vpcId: randomUUID(), cidr });
  const vpcA = vpc('10.81.0.0/16');
  const vpcB = vpc('10.82.0.0/16');
  const vpcC = vpc('10.83.0.0/16');
  const subnets = {
    a: { subnetId: randomUUID(), vpc: vpcA, cidr: '10.81.1.0/24', gatewayIp: '10.81.1.1' },
    b: { subnetId: randomUUID(), vpc: vpcB, cidr: '10.82.1.0/24', gatewayIp: '10.82.1.1' },
    c: { subnetId: randomUUID(), vpc: vpcC, cidr: '10.83.1.0/24', gatewayIp: '10.83.1.1' },
    /** A second subnet of VPC A, on the main route table (no route out). */
    a3: { subnetId: randomUUID(), vpc: vpcA, cidr: '10.81.2.0/24', gatewayIp: '10.81.2.1' },
  };
  const nics: Record<'a1' | 'a2' | 'a3' | 'b1' | 'c1', Nic> = {
    a3: { nicId: randomUUID(), ip: '10.81.2.10', netns: '' },
    a1: { nicId: randomUUID(), ip: '10.81.1.10', netns: '' },
    a2: { nicId: randomUUID(), ip: '10.81.1.11', netns: '' },
    b1: { nicId: randomUUID(), ip: '10.82.1.10', netns: '' },
    c1: { nicId: randomUUID(), ip: '10.83.1.10', netns: '' },
  };
  const subnetOf = {
    a1: subnets.a,
    a2: subnets.a,
    a3: subnets.a3,
    b1: subnets.b,
    c1: subnets.c,
  } as const;
  let outside = { netns: '', hostEnd: '' };

  const realized = async () => {
    realization.push((await fabric.waitRealized()).ms);
  };

  async function cleanLeftovers(): Promise<void> {
    await new OvnNetworkFabric({
      owner: OWNER,
      externalSwitch: EXTERNAL_SWITCH,
    }).removeEverythingOwned();
    await removeOwnedBridgePorts(OWNER);
    for (const name of await leftoverNetns()) await deleteNetns(name);
  }

  let reachable = false;

  beforeAll(async () => {
    const probe = await probeOvn();
    if (!probe.reachable) {
      throw new Error(`OVN is not reachable: ${probe.detail}. Start it as .ci/run does.`);
    }
    reachable = true;
    await cleanLeftovers();
    for (const { vpcId, cidr } of [vpcA, vpcB, vpcC]) {
      await fabric.ensureRouter({ vpcId, tenantId, cidr });
    }
    for (const subnet of Object.values(subnets)) {
      await fabric.ensureSwitch({ ...subnet, vpcId: subnet.vpc.vpcId, tenantId });
    }
    for (const [name, nic] of Object.entries(nics) as Array<[keyof typeof nics, Nic]>) {
      const subnet = subnetOf[name];
      nic.netns = await addNetns(name);
      namespaces.push(nic.netns);
      await fabric.ensureNic({ nicId: nic.nicId, subnetId: subnet.subnetId, tenantId, ip: nic.ip });
      await fabric.plugNic({
        nicId: nic.nicId,
        ip: nic.ip,
        prefixLength: 24,
        gatewayIp: subnet.gatewayIp,
        netns: { kind: 'named', name: nic.netns },
      });
    }
    outside = await addOutsideNetns('br-ex', OWNER, '100.64.0.1/10');
    // An "internet" address beyond the upstream router, reachable only through a route.
    await execCommand('ip', ['-n', outside.netns, 'addr', 'add', `${INTERNET}/32`, 'dev', 'lo']);
    namespaces.push(outside.netns);
    await realized();
  });

  afterAll(async () => {
    if (!reachable) return;
    await cleanLeftovers();
    for (const name of namespaces) await deleteNetns(name);
    if (realization.length > 0) {
      const sorted = [...realization].sort((x, y) => x - y);
      console.log(
        `[network] ovn-nbctl --wait=hv: ${sorted.length} waits, ` +
          `median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`,
      );
    }
  });

  it('is idempotent: every ensure repeated changes nothing', async () => {
    const before = await fabric.inventory();
    await fabric.ensureRouter({ ...vpcA, tenantId });
    await fabric.ensureSwitch({ ...subnets.a, vpcId: vpcA.vpcId, tenantId });
    await fabric.ensureNic({
      nicId: nics.a1.nicId,
      subnetId: subnets.a.subnetId,
      tenantId,
      ip: nics.a1.ip,
    });
    await fabric.plugNic({
      nicId: nics.a1.nicId,
      ip: nics.a1.ip,
      prefixLength: 24,
      gatewayIp: subnets.a.gatewayIp,
      netns: { kind: 'named', name: nics.a1.netns },
    });
    expect(await fabric.inventory()).toEqual(before);
    expect(before.routers.map((r) => r.vpcId).sort()).toEqual(
      [vpcA.vpcId, vpcB.vpcId, vpcC.vpcId].sort(),
    );
    expect(before.hostPorts.map((p) => p.nicId).sort()).toEqual(
      Object.values(nics)
        .map((n) => n.nicId)
        .sort(),
    );
    for (const port of before.hostPorts) expect(port.device.length).toBeLessThanOrEqual(15);
  });

  it('connects two namespaces on one subnet (ICMP and TCP), and reaches the router', async () => {
    expect(await eventually(() => pings(nics.a1.netns, nics.a2.ip))).toBe(true);
    expect(await pings(nics.a1.netns, subnets.a.gatewayIp)).toBe(true);
    expect(
      await eventually(() => tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7101)),
    ).toBe(true);
  });

  it('plugging a NIC into a new namespace while its old one still exists moves it there (a re-created container)', async () => {
    // The kernel frees a removed container's namespace, and the veth pair in it, asynchronously:
    // under load the old pair is still there when the new container is plugged.
    const previous = nics.a2.netns;
    const next = await addNetns('a2-next');
    namespaces.push(next);
    await fabric.plugNic({
      nicId: nics.a2.nicId,
      ip: nics.a2.ip,
      prefixLength: 24,
      gatewayIp: subnets.a.gatewayIp,
      netns: { kind: 'named', name: next },
    });
    nics.a2.netns = next;
    await realized();
    expect(await eventually(() => pings(nics.a1.netns, nics.a2.ip))).toBe(true);
    expect(
      await eventually(() => tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7103)),
    ).toBe(true);
    const { stdout } = await execCommand('ip', ['-n', previous, '-o', 'link', 'show']);
    expect(stdout).not.toContain('eth0');
  });

  it('keeps two VPCs apart', async () => {
    expect(await eventually(() => pings(nics.b1.netns, subnets.b.gatewayIp))).toBe(true);
    expect(await pings(nics.a1.netns, nics.b1.ip)).toBe(false);
    expect(await tcpConnects(nics.a1.netns, nics.b1.netns, nics.b1.ip, 7102)).toBe(false);
  });

  it('peering connects exactly the two VPCs, never transitively, and removal cuts it', async () => {
    const ab = randomUUID();
    const bc = randomUUID();
    await fabric.ensurePeering({ peeringId: ab, requester: vpcA, accepter: vpcB });
    await fabric.ensurePeering({ peeringId: bc, requester: vpcB, accepter: vpcC });
    await fabric.ensurePeering({ peeringId: ab, requester: vpcA, accepter: vpcB });
    await realized();

    expect(await eventually(() => pings(nics.a1.netns, nics.b1.ip))).toBe(true);
    expect(
      await eventually(() => tcpConnects(nics.b1.netns, nics.a1.netns, nics.a1.ip, 7103)),
    ).toBe(true);
    expect(await eventually(() => pings(nics.b1.netns, nics.c1.ip))).toBe(true);
    expect(await pings(nics.a1.netns, nics.c1.ip)).toBe(false);
    expect(await pings(nics.c1.netns, nics.a1.ip)).toBe(false);

    await fabric.removePeering(ab);
    await fabric.removePeering(ab);
    await realized();
    expect(await pings(nics.a1.netns, nics.b1.ip)).toBe(false);
    expect(await tcpConnects(nics.a1.netns, nics.b1.netns, nics.b1.ip, 7104)).toBe(false);
    expect(await pings(nics.b1.netns, nics.c1.ip)).toBe(true);

    await fabric.removePeering(bc);
    await realized();
    expect(await pings(nics.b1.netns, nics.c1.ip)).toBe(false);
    expect((await fabric.inventory()).peerings).toEqual([]);
  });

  it('a security group blocks ingress until a rule allows it; egress and replies pass', async () => {
    const groupId = randomUUID();
    const ruleId = randomUUID();
    await fabric.ensureSecurityGroup({ groupId, vpcId: vpcA.vpcId, tenantId });
    await fabric.ensureSecurityGroup({ groupId, vpcId: vpcA.vpcId, tenantId });
    await fabric.addToSecurityGroup(groupId, nics.a2.nicId);
    await realized();

    expect(await tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7105)).toBe(false);
    // Egress from the member, and the replies to it, pass.
    expect(
      await eventually(() => tcpConnects(nics.a2.netns, nics.a1.netns, nics.a1.ip, 7106)),
    ).toBe(true);

    const rule = {
      ruleId,
      groupId,
      direction: 'ingress' as const,
      protocol: 'tcp' as const,
      portMin: 7105,
      portMax: 7105,
      peer: { kind: 'cidr' as const, cidr: vpcA.cidr },
    };
    await fabric.ensureSecurityRule(rule);
    await fabric.ensureSecurityRule(rule);
    await realized();
    expect(
      await eventually(() => tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7105)),
    ).toBe(true);
    // Only that port.
    expect(await tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7107)).toBe(false);
    expect((await fabric.inventory()).securityRules).toEqual([{ ruleId, groupId }]);

    await fabric.removeSecurityRule(groupId, ruleId);
    await realized();
    expect(await tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7105)).toBe(false);

    await fabric.removeFromSecurityGroup(groupId, nics.a2.nicId);
    await realized();
    expect(
      await eventually(() => tcpConnects(nics.a1.netns, nics.a2.netns, nics.a2.ip, 7108)),
    ).toBe(true);
    await fabric.removeSecurityGroup(groupId);
    await fabric.removeSecurityGroup(groupId);
    expect((await fabric.inventory()).securityGroups).toEqual([]);
  });

  it('routes between the subnets of a VPC; a drop policy cuts exactly what it matches', async () => {
    expect(await eventually(() => pings(nics.a3.netns, nics.a1.ip))).toBe(true);
    expect(
      await eventually(() => tcpConnects(nics.a1.netns, nics.a3.netns, nics.a3.ip, 7115)),
    ).toBe(true);
    const policyId = randomUUID();
    await fabric.ensureRoutePolicy({
      policyId,
      vpcId: vpcA.vpcId,
      priority: 1000,
      sourceCidr: subnets.a3.cidr,
      destinationCidr: subnets.a.cidr,
      action: { kind: 'drop' },
    });
    await realized();
    expect(await pings(nics.a3.netns, nics.a1.ip)).toBe(false);
    expect(await pings(nics.a3.netns, subnets.a3.gatewayIp)).toBe(true);
    await fabric.removeRoutePolicy(vpcA.vpcId, policyId);
    await realized();
    expect(await eventually(() => pings(nics.a3.netns, nics.a1.ip))).toBe(true);
    expect((await fabric.inventory()).policies).toEqual([]);
  });

  it('SNAT through a NAT gateway, for the subnets whose route table sends 0.0.0.0/0 there', async () => {
    const gatewayId = randomUUID();
    const routeId = randomUUID();
    const natGatewayId = randomUUID();
    const mainTableId = randomUUID();
    const natTableId = randomUUID();
    await fabric.setSubnetRouteTable(subnets.a.subnetId, natTableId);
    await fabric.setSubnetRouteTable(subnets.a3.subnetId, mainTableId);
    await fabric.attachGateway({
      gatewayId,
      vpcId: vpcA.vpcId,
      tenantId,
      externalIp: '100.64.0.2',
      externalPrefixLength: 10,
      nextHop: '100.64.0.1',
    });
    await realized();
    // No route out yet.
    expect(await pings(nics.a1.netns, INTERNET)).toBe(false);

    const route = {
      routeId,
      vpcId: vpcA.vpcId,
      routeTableId: natTableId,
      destinationCidr: '0.0.0.0/0',
      target: { kind: 'gateway' as const, gatewayId },
    };
    await fabric.ensureStaticRoute(route);
    await fabric.ensureStaticRoute(route);
    const nat = {
      natGatewayId,
      vpcId: vpcA.vpcId,
      publicIp: '100.64.0.10',
      sourceCidrs: [subnets.a.cidr, subnets.a3.cidr],
    };
    await fabric.ensureNatGateway(nat);
    await fabric.ensureNatGateway(nat);
    await realized();
    expect(await eventually(() => pings(nics.a1.netns, INTERNET))).toBe(true);
    expect(await sourceAddressSeen(nics.a1.netns, outside.netns, INTERNET, 7109)).toBe(
      '100.64.0.10',
    );
    // The other subnet's table has no route out: the NAT's snat rule alone does not carry it.
    expect(await pings(nics.a3.netns, INTERNET)).toBe(false);
    expect(await sourceAddressSeen(nics.a3.netns, outside.netns, INTERNET, 7116)).toBe(null);
    // Narrowing the NAT gateway to one subnet removes the other's rule only.
    await fabric.ensureNatGateway({ ...nat, sourceCidrs: [subnets.a.cidr] });
    const snat = await execCommand('ovn-nbctl', [
      '--timeout=10',
      'lr-nat-list',
      `nimbus-vpc-${vpcA.vpcId}`,
    ]);
    expect(snat.stdout).toContain(subnets.a.cidr);
    expect(snat.stdout).not.toContain(subnets.a3.cidr);

    await fabric.removeNatGateway(vpcA.vpcId, natGatewayId);
    await realized();
    expect(await sourceAddressSeen(nics.a1.netns, outside.netns, INTERNET, 7110)).toBe(null);
    expect((await fabric.inventory()).natGateways).toEqual([]);
    await fabric.removeStaticRoute(vpcA.vpcId, routeId);
    await fabric.setSubnetRouteTable(subnets.a.subnetId, null);
    await fabric.setSubnetRouteTable(subnets.a3.subnetId, null);
    await fabric.detachGateway(gatewayId);
  });

  it('an elastic IP lets the outside reach a server only while associated', async () => {
    const gatewayId = randomUUID();
    const eipId = randomUUID();
    await fabric.attachGateway({
      gatewayId,
      vpcId: vpcA.vpcId,
      tenantId,
      externalIp: '100.64.0.3',
      externalPrefixLength: 10,
      nextHop: '100.64.0.1',
    });
    await realized();
    expect(await tcpConnects(outside.netns, nics.a2.netns, '100.64.0.11', 7111)).toBe(false);

    const eip = { eipId, vpcId: vpcA.vpcId, publicIp: '100.64.0.11', privateIp: nics.a2.ip };
    await fabric.ensureElasticIp(eip);
    await fabric.ensureElasticIp(eip);
    await realized();
    expect(
      await eventually(() => tcpConnects(outside.netns, nics.a2.netns, '100.64.0.11', 7112)),
    ).toBe(true);
    // Its own outbound traffic leaves from the elastic IP too (no route needed for replies only,
    // but a new connection needs the default route).
    const routeId = randomUUID();
    await fabric.ensureStaticRoute({
      routeId,
      vpcId: vpcA.vpcId,
      routeTableId: null,
      destinationCidr: '0.0.0.0/0',
      target: { kind: 'gateway', gatewayId },
    });
    await realized();
    expect(await sourceAddressSeen(nics.a2.netns, outside.netns, INTERNET, 7113)).toBe(
      '100.64.0.11',
    );

    await fabric.removeElasticIp(vpcA.vpcId, eipId);
    await realized();
    expect(await tcpConnects(outside.netns, nics.a2.netns, '100.64.0.11', 7114)).toBe(false);
    await fabric.removeStaticRoute(vpcA.vpcId, routeId);
    await fabric.detachGateway(gatewayId);
    await fabric.detachGateway(gatewayId);
  });

  it('after everything is removed, the northbound database and the host hold nothing of it', async () => {
    for (const nic of Object.values(nics)) {
      await fabric.unplugNic(nic.nicId);
      await fabric.unplugNic(nic.nicId);
      await fabric.removeNic(nic.nicId);
    }
    for (const subnet of Object.values(subnets)) {
      await fabric.removeSwitch(subnet.subnetId);
      await fabric.removeSwitch(subnet.subnetId);
    }
    for (const { vpcId } of [vpcA, vpcB, vpcC]) {
      await fabric.removeRouter(vpcId);
      await fabric.removeRouter(vpcId);
    }
    await realized();
    const inventory = await fabric.inventory();
    for (const [kind, items] of Object.entries(inventory)) {
      expect(items, kind).toEqual([]);
    }
    // Nothing anywhere in the northbound database names this test's tenant or resources.
    const { stdout } = await execCommand('ovn-nbctl', ['--timeout=10', 'show']);
    for (const id of [tenantId, vpcA.vpcId, subnets.a.subnetId, nics.a1.nicId]) {
      expect(stdout).not.toContain(id);
    }
    for (const table of ['dhcp_options', 'acl', 'nat', 'logical_router_static_route']) {
      const rows = await execCommand('ovn-nbctl', [
        '--timeout=10',
        '--bare',
        '--columns=_uuid',
        'find',
        table,
        `external_ids:nimbus_owner=${OWNER}`,
      ]);
      expect(rows.stdout.trim(), table).toBe('');
    }
    const { stdout: links } = await execCommand('ip', ['-o', 'link', 'show']);
    expect(links).not.toMatch(/\bnh[0-9a-f]{13}\b/);
  });
});
