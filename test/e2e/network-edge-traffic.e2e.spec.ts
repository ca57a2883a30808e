/**
 * Elastic IPs, NAT gateways and VPC peering carrying real packets between busybox instances
 * launched through the SDK, on real Docker and OVN. The "outside" is a namespace this test
 * creates on br-ex (the external network's upstream router, the first address of the app's
 * pool, with 198.18.0.1 behind it as the "internet"): it reaches an instance's server on its elastic IP only while associated;
 * a private instance reaches it only through an active NAT gateway and a 0.0.0.0/0 route to it,
 * seen from the NAT's elastic IP. Under CI=true a missing OVN or Docker fails
 * the file; elsewhere it is skipped with a loud message.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { execCommand } from '../../src/drivers/exec';
import { NETWORK_FABRIC, type NetworkFabric } from '../../src/network/ports/network-fabric';
import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { isCI, removeLabelledContainers } from '../int/drivers/real-backends';
import { upstreamAddress } from '../../src/network/domain/public-address-pool';
import { addOutsideNetns, deleteNetns, removeOwnedBridgePorts } from '../int/network/netns';
import { startTestApp, type TestApp } from '../support/app';
import { signUp, type Account } from './identity.helpers';
import { deleteVpcs } from './sdk.helpers';
import {
  outsideReachesInstance,
  sourceSeenFromInstance,
  pingsFrom,
  sourceSeenFromInstanceBecomes,
  until,
} from './network-traffic';

const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
const dockerPresent = existsSync('/var/run/docker.sock');
if (!ovnPresent || !dockerPresent) {
  console.warn(
    `\n[network] ${isCI ? 'FAILING' : 'SKIPPING'} the edge traffic e2e tests: ` +
      `${ovnPresent ? '' : 'OVN is not running '}${dockerPresent ? '' : 'Docker is not running'}.\n`,
  );
}

const RUN = `net-edge-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';
const OWNER = `nimbus-e2e-${RUN}`;
const INTERNET = '198.18.0.1';

interface Instance {
  id: string;
  status: string;
  private_ip: string | null;
}

describe.skipIf((!ovnPresent || !dockerPresent) && !isCI)(
  'elastic IPs and NAT gateways with instances, real Docker and OVN (e2e)',
  () => {
    let t: TestApp;
    let alice: Account;
    let sdk: NimbusClient;
    let outside = { netns: '', hostEnd: '' };
    const instanceIds: string[] = [];
    const vpcIds: string[] = [];
    const cleanups: Array<() => Promise<unknown>> = [];

    async function vpcWithSubnets(name: string, block: string, subnetBlocks: string[]) {
      const vpc = unwrap(await sdk.POST('/vpcs', { body: { name, cidr_block: block } }));
      vpcIds.push(vpc.id);
      const subnetIds: string[] = [];
      for (const [i, cidr] of subnetBlocks.entries()) {
        const subnet = unwrap(
          await sdk.POST('/vpcs/{vpcId}/subnets', {
            params: { path: { vpcId: vpc.id } },
            body: { name: `${name}-${i}`, cidr_block: cidr, availability_zone: 'local-1a' },
          }),
        );
        subnetIds.push(subnet.id);
      }
      return {
        vpcId: vpc.id,
        groupId: vpc.default_security_group_id,
        subnetIds,
      };
    }

    async function allowIngress(groupId: string, protocol: 'tcp' | 'icmp', cidr: string) {
      unwrap(
        await sdk.POST('/security-groups/{id}/rules', {
          params: { path: { id: groupId } },
          body: {
            direction: 'ingress',
            protocol,
            ...(protocol === 'tcp' ? { port_min: 7000, port_max: 7999 } : {}),
            cidr,
            priority: null,
          },
        }),
      );
    }

    async function launch(name: string, subnetId: string): Promise<string> {
      const body = unwrap(
        await sdk.POST('/instances', {
          body: { name, image: 'busybox', instance_type: 'basic-1', subnet_id: subnetId },
        }),
      ) as unknown as Instance;
      instanceIds.push(body.id);
      return body.id;
    }

    async function running(id: string): Promise<Instance> {
      await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(INSTANCE_LAUNCH_SAGA, id, 60_000);
      let last: Instance | undefined;
      for (let i = 0; i < 100; i += 1) {
        last = unwrap(await sdk.GET('/instances/{id}', { params: { path: { id } } }));
        if (last.status === 'RUNNING' && last.private_ip !== null) return last;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`instance ${id} is not RUNNING: ${JSON.stringify(last)}`);
    }

    async function statusOf(path: '/nat-gateways/{id}' | '/vpc-peerings/{id}', id: string) {
      const res = await sdk.GET(path, { params: { path: { id } } });
      // A deleted NAT gateway is no longer shown.
      if (res.response.status === 404) return 'deleted';
      return (unwrap(res) as { status: string }).status;
    }

    async function reaches(
      path: '/nat-gateways/{id}' | '/vpc-peerings/{id}',
      id: string,
      s: string,
    ) {
      expect(await until(async () => (await statusOf(path, id)) === s, 120, 250)).toBe(true);
    }

    beforeAll(async () => {
      t = await startTestApp({
        label: 'network_edge_traffic',
        config: {
          docker: 'docker',
          ovs: 'simulated',
          ovn: 'ovn',
          authRateLimitPerMinute: 10_000,
          containerLabel: { key: TEST_LABEL, value: RUN },
          quota: { instances: 10, vcpus: 16, memoryMb: 8192, volumes: 20 },
        },
      });
      expect(t.app.get<NetworkFabric>(NETWORK_FABRIC).kind).toBe('ovn');
      alice = await signUp(t, 'net-edge');
      sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
      const poolPrefix = t.config.eipPool.split('/')[1];
      outside = await addOutsideNetns(
        'br-ex',
        OWNER,
        `${upstreamAddress(t.config.eipPool)}/${poolPrefix}`,
      );
      await execCommand('ip', ['-n', outside.netns, 'addr', 'add', `${INTERNET}/32`, 'dev', 'lo']);
    }, 120_000);

    afterAll(async () => {
      if (!t) return;
      for (const id of instanceIds) {
        await sdk.DELETE('/instances/{id}', { params: { path: { id } } }).catch(() => undefined);
      }
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await deleteVpcs(sdk, vpcIds);
      await t.close();
      if (outside.netns) await deleteNetns(outside.netns);
      await removeOwnedBridgePorts(OWNER);
      await removeLabelledContainers(TEST_LABEL, RUN);
    });

    it('the outside reaches an instance on its elastic IP only while associated; a private instance leaves only through an active NAT gateway and its route, from its elastic IP', async () => {
      const vpc = await vpcWithSubnets('edge', '10.95.0.0/16', ['10.95.1.0/24', '10.95.2.0/24']);
      const [publicSubnet, privateSubnet] = vpc.subnetIds;
      await allowIngress(vpc.groupId, 'tcp', t.config.eipPool);
      const igw = unwrap(await sdk.POST('/internet-gateways', {}));
      unwrap(
        await sdk.POST('/internet-gateways/{id}/attach', {
          params: { path: { id: igw.id } },
          body: { vpc_id: vpc.vpcId },
        }),
      );
      cleanups.push(async () => {
        await sdk.POST('/internet-gateways/{id}/detach', { params: { path: { id: igw.id } } });
        await sdk.DELETE('/internet-gateways/{id}', { params: { path: { id: igw.id } } });
      });
      const web = await launch('web', publicSubnet);
      const worker = await launch('worker', privateSubnet);
      await Promise.all([running(web), running(worker)]);

      const eip = unwrap(await sdk.POST('/elastic-ips', {}));
      cleanups.push(() => sdk.DELETE('/elastic-ips/{id}', { params: { path: { id: eip.id } } }));
      expect(await outsideReachesInstance(outside.netns, web, eip.public_ip, 7001)).toBe(false);
      unwrap(
        await sdk.POST('/elastic-ips/{id}/associate', {
          params: { path: { id: eip.id } },
          body: { instance_id: web },
        }),
      );
      expect(await outsideReachesInstance(outside.netns, web, eip.public_ip, 7002, 8)).toBe(true);
      unwrap(
        await sdk.POST('/elastic-ips/{id}/disassociate', { params: { path: { id: eip.id } } }),
      );
      expect(await outsideReachesInstance(outside.netns, web, eip.public_ip, 7003)).toBe(false);

      // No NAT gateway and no route: the private instance does not leave the VPC.
      expect(await sourceSeenFromInstance(worker, outside.netns, INTERNET, 7010)).toBeNull();
      const natEip = unwrap(await sdk.POST('/elastic-ips', {}));
      cleanups.push(() => sdk.DELETE('/elastic-ips/{id}', { params: { path: { id: natEip.id } } }));
      const nat = unwrap(
        await sdk.POST('/nat-gateways', {
          body: { subnet_id: publicSubnet, eip_id: natEip.id },
        }),
      );
      await reaches('/nat-gateways/{id}', nat.id, 'active');
      // Active, but the private subnet's table has no route to it yet.
      expect(await sourceSeenFromInstance(worker, outside.netns, INTERNET, 7011)).toBeNull();
      const table = unwrap(
        await sdk.POST('/route-tables', {
          body: { vpc_id: vpc.vpcId, name: 'private', is_main: false },
        }),
      );
      unwrap(
        await sdk.POST('/route-tables/{id}/associate', {
          params: { path: { id: table.id } },
          body: { subnet_id: privateSubnet },
        }),
      );
      const route = unwrap(
        await sdk.POST('/route-tables/{id}/routes', {
          params: { path: { id: table.id } },
          body: { destination_cidr: '0.0.0.0/0', target_type: 'nat', target_id: nat.id },
        }),
      );
      expect(
        await sourceSeenFromInstanceBecomes(
          natEip.public_ip,
          worker,
          outside.netns,
          INTERNET,
          7012,
        ),
      ).toBe(natEip.public_ip);
      cleanups.push(async () => {
        await sdk.POST('/route-tables/{id}/disassociate', {
          params: { path: { id: table.id } },
          body: { subnet_id: privateSubnet },
        });
        await sdk.DELETE('/route-tables/{id}', { params: { path: { id: table.id } } });
      });
      // The route's removal cuts the way out again.
      const routeId = (
        route as unknown as { routes: Array<{ id: string; destination_cidr: string }> }
      ).routes.find((r) => r.destination_cidr === '0.0.0.0/0')?.id;
      expect(routeId).toBeDefined();
      await sdk.DELETE('/route-tables/{id}/routes', {
        params: { path: { id: table.id }, query: { route_id: routeId as string } },
      });
      expect(
        await sourceSeenFromInstanceBecomes(null, worker, outside.netns, INTERNET, 7013),
      ).toBeNull();
      await sdk.DELETE('/nat-gateways/{id}', { params: { path: { id: nat.id } } });
      await reaches('/nat-gateways/{id}', nat.id, 'deleted');
    }, 300_000);

    it('peered VPCs reach each other only while the peering is active, and peering is not transitive', async () => {
      const a = await vpcWithSubnets('peer-a', '10.96.0.0/16', ['10.96.1.0/24']);
      const b = await vpcWithSubnets('peer-b', '10.97.0.0/16', ['10.97.1.0/24']);
      const c = await vpcWithSubnets('peer-c', '10.98.0.0/16', ['10.98.1.0/24']);
      // As on AWS, a peer's traffic is ingress its security group must admit.
      await allowIngress(a.groupId, 'icmp', '10.97.0.0/16');
      await allowIngress(b.groupId, 'icmp', '10.96.0.0/16');
      await allowIngress(b.groupId, 'icmp', '10.98.0.0/16');
      await allowIngress(c.groupId, 'icmp', '10.97.0.0/16');
      const ids = [
        await launch('peer-a', a.subnetIds[0]),
        await launch('peer-b', b.subnetIds[0]),
        await launch('peer-c', c.subnetIds[0]),
      ];
      const [ia, ib, ic] = await Promise.all(ids.map(running));
      const ipOf = (i: Instance) => i.private_ip as string;
      expect(await pingsFrom(ia.id, ipOf(ib))).toBe(false);

      const peer = async (from: string, to: string) => {
        const requested = unwrap(
          await sdk.POST('/vpc-peerings', {
            body: { requester_vpc_id: from, accepter_vpc_id: to },
          }),
        );
        unwrap(
          await sdk.POST('/vpc-peerings/{id}/accept', { params: { path: { id: requested.id } } }),
        );
        await reaches('/vpc-peerings/{id}', requested.id, 'active');
        cleanups.push(() =>
          sdk.DELETE('/vpc-peerings/{id}', { params: { path: { id: requested.id } } }),
        );
        return requested.id;
      };
      const ab = await peer(a.vpcId, b.vpcId);
      expect(await until(() => pingsFrom(ia.id, ipOf(ib)), 20, 250)).toBe(true);
      expect(await until(() => pingsFrom(ib.id, ipOf(ia)), 20, 250)).toBe(true);

      // A subnet moved to a route table of its own keeps the peering's routes.
      const table = unwrap(
        await sdk.POST('/route-tables', {
          body: { vpc_id: a.vpcId, name: 'own', is_main: false },
        }),
      );
      unwrap(
        await sdk.POST('/route-tables/{id}/associate', {
          params: { path: { id: table.id } },
          body: { subnet_id: a.subnetIds[0] },
        }),
      );
      cleanups.push(async () => {
        await sdk.POST('/route-tables/{id}/disassociate', {
          params: { path: { id: table.id } },
          body: { subnet_id: a.subnetIds[0] },
        });
        await sdk.DELETE('/route-tables/{id}', { params: { path: { id: table.id } } });
      });
      expect(await until(() => pingsFrom(ia.id, ipOf(ib)), 20, 250)).toBe(true);

      await peer(b.vpcId, c.vpcId);
      expect(await until(() => pingsFrom(ib.id, ipOf(ic)), 20, 250)).toBe(true);
      // A-B and B-C active: A still does not reach C.
      expect(await pingsFrom(ia.id, ipOf(ic))).toBe(false);
      expect(await pingsFrom(ic.id, ipOf(ia))).toBe(false);

      unwrap(await sdk.DELETE('/vpc-peerings/{id}', { params: { path: { id: ab } } }));
      await reaches('/vpc-peerings/{id}', ab, 'deleted');
      expect(await until(async () => !(await pingsFrom(ia.id, ipOf(ib))), 20, 250)).toBe(true);
    }, 300_000);
  },
);
