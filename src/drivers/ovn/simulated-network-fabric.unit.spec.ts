import { describe, expect, it } from 'vitest';

import { SimulatedNetworkFabric } from './simulated-network-fabric';

const TENANT = 't1';

async function withSubnet() {
  const fabric = new SimulatedNetworkFabric();
  await fabric.ensureRouter({ vpcId: 'v1', tenantId: TENANT, cidr: '10.0.0.0/16' });
  await fabric.ensureSwitch({
    subnetId: 's1',
    vpcId: 'v1',
    tenantId: TENANT,
    cidr: '10.0.1.0/24',
    gatewayIp: '10.0.1.1',
  });
  await fabric.ensureNic({ nicId: 'n1', subnetId: 's1', tenantId: TENANT, ip: '10.0.1.4' });
  return fabric;
}

describe('SimulatedNetworkFabric', () => {
  it('is idempotent like the OVN fabric', async () => {
    const fabric = await withSubnet();
    const before = await fabric.inventory();
    await fabric.ensureRouter({ vpcId: 'v1', tenantId: TENANT, cidr: '10.0.0.0/16' });
    await fabric.ensureNic({ nicId: 'n1', subnetId: 's1', tenantId: TENANT, ip: '10.0.1.4' });
    expect(await fabric.inventory()).toEqual(before);
    await fabric.removeNic('n1');
    await fabric.removeNic('n1');
    expect((await fabric.inventory()).nics).toEqual([]);
  });

  it('refuses what OVN refuses', async () => {
    const fabric = await withSubnet();
    await expect(
      fabric.ensureSwitch({
        subnetId: 's2',
        vpcId: 'missing',
        tenantId: TENANT,
        cidr: '10.0.2.0/24',
        gatewayIp: '10.0.2.1',
      }),
    ).rejects.toThrow(/has no router/);
    await expect(
      fabric.ensureNic({ nicId: 'n2', subnetId: 'missing', tenantId: TENANT, ip: '10.0.2.4' }),
    ).rejects.toThrow(/has no switch/);
    await expect(
      fabric.ensureStaticRoute({
        routeId: 'r1',
        vpcId: 'v1',
        routeTableId: null,
        destinationCidr: '0.0.0.0/0',
        target: { kind: 'gateway', gatewayId: 'igw1' },
      }),
    ).rejects.toThrow(/not attached/);
    await expect(
      fabric.ensureRouter({ vpcId: 'bad id', tenantId: TENANT, cidr: '10.0.0.0/16' }),
    ).rejects.toThrow(/not usable/);
  });

  it('keeps group members and drops them with the NIC', async () => {
    const fabric = await withSubnet();
    await fabric.ensureSecurityGroup({ groupId: 'g1', vpcId: 'v1', tenantId: TENANT });
    await fabric.addToSecurityGroup('g1', 'n1');
    await fabric.addToSecurityGroup('g1', 'n1');
    expect(fabric.membersOf('g1')).toEqual(['n1']);
    await fabric.removeNic('n1');
    expect(fabric.membersOf('g1')).toEqual([]);
  });

  it('removing a router takes its routes, NAT rules, gateways and peerings with it', async () => {
    const fabric = await withSubnet();
    await fabric.ensureRouter({ vpcId: 'v2', tenantId: TENANT, cidr: '10.1.0.0/16' });
    await fabric.attachGateway({
      gatewayId: 'igw1',
      vpcId: 'v1',
      tenantId: TENANT,
      externalIp: '100.64.0.2',
      externalPrefixLength: 10,
      nextHop: '100.64.0.1',
    });
    await fabric.ensureStaticRoute({
      routeId: 'r1',
      vpcId: 'v1',
      routeTableId: 'rtb-1',
      destinationCidr: '0.0.0.0/0',
      target: { kind: 'gateway', gatewayId: 'igw1' },
    });
    await fabric.ensureElasticIp({
      eipId: 'e1',
      vpcId: 'v1',
      publicIp: '100.64.0.9',
      privateIp: '10.0.1.4',
    });
    await fabric.ensureNatGateway({
      natGatewayId: 'nat1',
      vpcId: 'v1',
      publicIp: '100.64.0.10',
      sourceCidrs: ['10.0.1.0/24'],
    });
    await fabric.ensurePeering({
      peeringId: 'p1',
      requester: { vpcId: 'v1', cidr: '10.0.0.0/16' },
      accepter: { vpcId: 'v2', cidr: '10.1.0.0/16' },
    });
    await fabric.removeRouter('v1');
    const left = await fabric.inventory();
    expect(left.routers).toEqual([{ vpcId: 'v2', tenantId: TENANT }]);
    expect([left.routes, left.gateways, left.elasticIps, left.natGateways, left.peerings]).toEqual([
      [],
      [],
      [],
      [],
      [],
    ]);
  });

  it('keeps the route table each subnet is routed by', async () => {
    const fabric = await withSubnet();
    await fabric.setSubnetRouteTable('s1', 'rtb-1');
    expect(fabric.routeTableOf('s1')).toBe('nimbus-rtb-rtb-1');
    await fabric.setSubnetRouteTable('s1', null);
    expect(fabric.routeTableOf('s1')).toBeNull();
    await expect(fabric.setSubnetRouteTable('missing', 'rtb-1')).rejects.toThrow(/has no switch/);
  });

  it('reports plugged NICs as host ports and realizes at once', async () => {
    const fabric = await withSubnet();
    await fabric.plugNic({
      nicId: 'n1',
      ip: '10.0.1.4',
      prefixLength: 24,
      gatewayIp: '10.0.1.1',
      netns: { kind: 'pid', pid: 42 },
    });
    expect((await fabric.inventory()).hostPorts).toEqual([
      { nicId: 'n1', device: expect.stringMatching(/^nh[0-9a-f]{13}$/) },
    ]);
    expect(await fabric.waitRealized()).toEqual({ ms: 0 });
    await fabric.unplugNic('n1');
    expect((await fabric.inventory()).hostPorts).toEqual([]);
  });
});
