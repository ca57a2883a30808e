/**
 * Instances on the network, on real Docker and OVN, through the generated SDK: busybox instances
 * launched into a subnet get a NIC (an address of the subnet, a logical port, a veth in the
 * container's namespace) and reach each other; an instance of another VPC does not; a launch
 * naming neither VPC nor subnet lands in the tenant's default VPC; terminate leaves no port in
 * the northbound database and no veth on the host. Traffic starts inside the test's containers
 * (`docker exec`) and goes to addresses of the test's containers. Under CI=true a missing OVN or
 * Docker fails the file; elsewhere it is skipped with a loud message.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { ExecError, execCommand } from '../../src/drivers/exec';
import { hostDevices } from '../../src/drivers/ovn/ovn-names';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { defaultVpcIdsOf, subnetDecider } from '../../src/network/domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../../src/network/ports/network-fabric';
import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { isCI, removeLabelledContainers } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { signUp, type Account } from './identity.helpers';
import { nbHasPort, pingsFrom, until } from './network-traffic';
import { deleteVpcs } from './sdk.helpers';

const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
const dockerPresent = existsSync('/var/run/docker.sock');
if (!ovnPresent || !dockerPresent) {
  console.warn(
    `\n[network] ${isCI ? 'FAILING' : 'SKIPPING'} the instance networking e2e tests: ` +
      `${ovnPresent ? '' : 'OVN is not running '}${dockerPresent ? '' : 'Docker is not running'}.\n`,
  );
}

const RUN = `net-inst-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';

interface Instance {
  id: string;
  status: string;
  private_ip: string | null;
  subnet_id: string | null;
  vpc_id: string | null;
  error_reason: string | null;
}

async function hostLinkExists(device: string): Promise<boolean> {
  try {
    await execCommand('ip', ['-o', 'link', 'show', 'dev', device]);
    return true;
  } catch (error: unknown) {
    if (error instanceof ExecError && error.failure === 'exit') return false;
    throw error;
  }
}

describe.skipIf((!ovnPresent || !dockerPresent) && !isCI)(
  'instances on the network, real Docker and OVN (e2e)',
  () => {
    let t: TestApp;
    let alice: Account;
    let sdk: NimbusClient;
    let fabric: NetworkFabric;
    const launchedIds: string[] = [];
    const vpcIds: string[] = [];

    async function vpcWithSubnet(name: string, block: string, subnetBlock: string) {
      const vpc = unwrap(await sdk.POST('/vpcs', { body: { name, cidr_block: block } }));
      vpcIds.push(vpc.id);
      const subnet = unwrap(
        await sdk.POST('/vpcs/{vpcId}/subnets', {
          params: { path: { vpcId: vpc.id } },
          body: { name: `${name}-a`, cidr_block: subnetBlock, availability_zone: 'local-1a' },
        }),
      );
      return { vpcId: vpc.id, subnetId: subnet.id, gatewayIp: subnet.gateway_ip };
    }

    async function launch(name: string, placement: { subnet_id?: string; vpc_id?: string }) {
      const res = await sdk.POST('/instances', {
        body: { name, image: 'busybox', instance_type: 'basic-1', ...placement },
      });
      const body = unwrap(res) as unknown as Instance;
      launchedIds.push(body.id);
      return body.id;
    }

    /** Waits for the launch saga, then for the read model to show the instance RUNNING. */
    async function running(id: string): Promise<Instance> {
      await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(INSTANCE_LAUNCH_SAGA, id, 60_000);
      let last: Instance | undefined;
      for (let i = 0; i < 100; i += 1) {
        const res = await sdk.GET('/instances/{id}', { params: { path: { id } } });
        last = unwrap(res);
        if (last.status === 'RUNNING' && last.private_ip !== null) return last;
        if (last.status === 'ERROR') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`instance ${id} is not RUNNING with an address: ${JSON.stringify(last)}`);
    }

    async function terminated(id: string): Promise<void> {
      const res = await sdk.DELETE('/instances/{id}', { params: { path: { id } } });
      expect([200, 202, 204]).toContain(res.response.status);
    }

    beforeAll(async () => {
      t = await startTestApp({
        label: 'network_instances',
        config: {
          docker: 'docker',
          ovs: 'simulated',
          ovn: 'ovn',
          authRateLimitPerMinute: 10_000,
          containerLabel: { key: TEST_LABEL, value: RUN },
        },
      });
      fabric = t.app.get<NetworkFabric>(NETWORK_FABRIC);
      expect(fabric.kind).toBe('ovn');
      alice = await signUp(t, 'net-inst');
      sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    }, 120_000);

    afterAll(async () => {
      if (!t) return;
      for (const id of launchedIds) {
        await sdk.DELETE('/instances/{id}', { params: { path: { id } } }).catch(() => undefined);
      }
      await deleteVpcs(sdk, vpcIds);
      await t.close();
      await removeLabelledContainers(TEST_LABEL, RUN);
    });

    it('two instances of one subnet reach each other; one of another VPC is unreachable; terminate leaves nothing', async () => {
      const a = await vpcWithSubnet('inst-a', '10.91.0.0/16', '10.91.1.0/24');
      const b = await vpcWithSubnet('inst-b', '10.92.0.0/16', '10.92.1.0/24');
      const [id1, id2, id3] = [
        await launch('a1', { subnet_id: a.subnetId }),
        await launch('a2', { subnet_id: a.subnetId }),
        await launch('b1', { vpc_id: b.vpcId }),
      ];
      const [i1, i2, i3] = await Promise.all([running(id1), running(id2), running(id3)]);
      expect(i1).toMatchObject({ vpc_id: a.vpcId, subnet_id: a.subnetId });
      expect(i3).toMatchObject({ vpc_id: b.vpcId, subnet_id: b.subnetId });
      // The first four addresses and the last are reserved; no address twice.
      const ips = [i1.private_ip, i2.private_ip];
      expect(new Set(ips).size).toBe(2);
      for (const ip of ips) {
        const last = Number((ip as string).split('.')[3]);
        expect(ip).toMatch(/^10\.91\.1\./);
        expect(last).toBeGreaterThanOrEqual(4);
        expect(last).toBeLessThan(255);
      }

      expect(await until(() => pingsFrom(id1, i2.private_ip as string), 40)).toBe(true);
      expect(await pingsFrom(id2, i1.private_ip as string)).toBe(true);
      expect(await pingsFrom(id1, a.gatewayIp)).toBe(true);
      expect(await until(() => pingsFrom(id3, b.gatewayIp), 40)).toBe(true);
      expect(await pingsFrom(id1, i3.private_ip as string)).toBe(false);
      expect(await pingsFrom(id3, i1.private_ip as string)).toBe(false);

      // A VPC or subnet with instances in it is not deleted: 409 naming them.
      const vpcDelete = await sdk.DELETE('/vpcs/{id}', { params: { path: { id: a.vpcId } } });
      expect(vpcDelete.response.status).toBe(409);
      expect(JSON.stringify(vpcDelete.error)).toContain('dependency_violation');
      expect(JSON.stringify(vpcDelete.error)).toContain(id1);
      const subnetDelete = await sdk.DELETE('/subnets/{id}', {
        params: { path: { id: a.subnetId } },
      });
      expect(subnetDelete.response.status).toBe(409);
      expect(JSON.stringify(subnetDelete.error)).toContain(id2);

      for (const id of [id1, id2, id3]) await terminated(id);
      for (const id of [id1, id2, id3]) {
        expect(await nbHasPort(id)).toBe(false);
        expect(await hostLinkExists(hostDevices.hostEnd(id))).toBe(false);
      }
      const executor = t.app.get(CommandExecutor);
      for (const subnetId of [a.subnetId, b.subnetId]) {
        const { state } = await executor.load(subnetDecider, subnetId);
        expect(state.allocations).toEqual({});
      }
      const inventory = await fabric.inventory();
      expect(inventory.hostPorts.filter((p) => [id1, id2, id3].includes(p.nicId))).toEqual([]);
    }, 180_000);

    it("rejects another tenant's subnet or VPC and unknown ids with 404, a subnet outside the VPC with 400", async () => {
      const mine = await vpcWithSubnet('inst-c', '10.93.0.0/16', '10.93.1.0/24');
      const other = await vpcWithSubnet('inst-d', '10.94.0.0/16', '10.94.1.0/24');
      const bob = await signUp(t, 'net-inst-bob');
      const bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
      const body = { name: 'x', image: 'busybox', instance_type: 'basic-1' };
      for (const placement of [
        { subnet_id: mine.subnetId },
        { vpc_id: mine.vpcId },
        { subnet_id: randomUUID() },
        { vpc_id: randomUUID() },
      ]) {
        const res = await bobSdk.POST('/instances', { body: { ...body, ...placement } });
        expect(res.response.status, JSON.stringify(placement)).toBe(404);
      }
      const mismatch = await sdk.POST('/instances', {
        body: { ...body, vpc_id: mine.vpcId, subnet_id: other.subnetId },
      });
      expect(mismatch.response.status).toBe(400);
    });

    it('a launch naming neither VPC nor subnet lands in the default VPC, made on first use', async () => {
      const id = await launch('default-1', {});
      const instance = await running(id);
      const ids = defaultVpcIdsOf(alice.tenantId);
      expect(instance).toMatchObject({ vpc_id: ids.vpcId, subnet_id: ids.subnetId });
      expect(instance.private_ip).toMatch(/^172\.31\./);
      vpcIds.push(ids.vpcId);
      const vpc = unwrap(await sdk.GET('/vpcs/{id}', { params: { path: { id: ids.vpcId } } }));
      expect(vpc).toMatchObject({ name: 'default', cidr_block: '172.31.0.0/16' });
      expect(await until(() => pingsFrom(id, '172.31.0.1'), 40)).toBe(true);
      await terminated(id);
      expect(await nbHasPort(id)).toBe(false);
    }, 120_000);
  },
);
