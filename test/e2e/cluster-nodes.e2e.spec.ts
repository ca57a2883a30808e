/**
 * The machines of kubeadm clusters on the VPC, on real Docker and OVN: a cluster's node is a
 * container with one interface, a NIC in the cluster's subnet (an address held in the subnet's
 * stream, a logical switch port in the VPC's default group, a veth in its namespace). No
 * Kubernetes node image can be built on this machine, so the nodes here are of a stand-in image
 * (busybox, sleeping); what kubeadm then runs on them is unit-tested on the plans and run for real
 * by test/int/clusters/kubeadm-driver.spec.ts when a node image is given.
 *
 * Through the API of an app whose cluster driver is kubeadm: a VPC without a subnet is refused
 * (409) and a subnet of another VPC too (400), appending nothing; the subnet is shown on the
 * cluster. Through the driver's `DockerNodeRuntime`: nodes get distinct addresses of the subnet
 * and reach each other and the subnet's gateway; a port on 127.0.0.1 reaches a server inside a
 * node (the API server's relay); the subnet cannot be deleted while a node holds an address;
 * removing a node releases its address and removes its logical port and its relay; an address
 * freed and given to a new node is reached at once by a node that cached the old MAC. Traffic
 * starts inside the test's node containers (`docker exec`) or on 127.0.0.1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DockerNodeRuntime, LABEL_CLUSTER } from '../../src/clusters/drivers/docker-node-runtime';
import { nodeContainerName } from '../../src/clusters/drivers/kubeadm-plan';
import { NsenterConnector } from '../../src/drivers/docker/namespace-connector';
import { EngineContainers } from '../../src/drivers/engines/engine-containers';
import { ExecError, execCommand } from '../../src/drivers/exec';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { instanceDecider } from '../../src/compute/domain/instance';
import { subnetDecider } from '../../src/network/domain';
import {
  MANAGED_INSTANCES,
  type ManagedInstances,
} from '../../src/compute/ports/managed-instances';
import { MACHINE_NICS, type MachineNics } from '../../src/network/ports/machine-nics';
import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { dockerClient, isCI, removeLabelledContainers } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { itemsOf } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';
import { until as eventually } from './data.helpers';
import { nbHasPort, until } from './network-traffic';
import { deleteVpcs, refusal } from './sdk.helpers';

const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
const dockerPresent = existsSync('/var/run/docker.sock');
if (!ovnPresent || !dockerPresent) {
  console.warn(
    `\n[clusters] ${isCI ? 'FAILING' : 'SKIPPING'} the cluster node placement e2e tests: ` +
      `${ovnPresent ? '' : 'OVN is not running '}${dockerPresent ? '' : 'Docker is not running'}.\n`,
  );
}

/** busybox that stays up, standing in for a node image (which would run systemd). */
const STAND_IN_IMAGE = 'nimbus-test/cluster-node-stand-in:latest';

/** Made once (a commit each run would leave the previous image behind, untagged). */
async function buildStandInImage(): Promise<void> {
  const docker = dockerClient();
  try {
    await docker.getImage(STAND_IN_IMAGE).inspect();
    return;
  } catch {
    // absent: made below
  }
  const base = await docker.createContainer({ Image: 'nimbus/busybox:latest', Cmd: ['true'] });
  try {
    await base.commit({
      repo: 'nimbus-test/cluster-node-stand-in',
      tag: 'latest',
      changes: 'CMD ["sleep","86400"]',
    });
  } finally {
    await base.remove({ force: true });
  }
}

async function execIn(container: string, args: string[], timeoutMs = 5_000): Promise<boolean> {
  try {
    await execCommand('docker', ['exec', container, ...args], { timeoutMs });
    return true;
  } catch (error) {
    if (error instanceof ExecError && (error.failure === 'exit' || error.failure === 'timeout')) {
      return false;
    }
    throw error;
  }
}

/** Sends `message` to 127.0.0.1:`port`; resolves when the far side closed. */
function sendOnLoopback(port: number, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(message));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

describe.skipIf((!ovnPresent || !dockerPresent) && !isCI)(
  'cluster nodes on the VPC, real Docker and OVN (e2e)',
  () => {
    let t: TestApp;
    let alice: Account;
    let sdk: NimbusClient;
    let runtime: DockerNodeRuntime;
    const clusterId = randomUUID();
    const vpcIds: string[] = [];

    async function vpc(name: string, block: string) {
      const created = unwrap(await sdk.POST('/vpcs', { body: { name, cidr_block: block } }));
      vpcIds.push(created.id);
      return created.id;
    }

    async function subnet(vpcId: string, block: string) {
      return unwrap(
        await sdk.POST('/vpcs/{vpcId}/subnets', {
          params: { path: { vpcId } },
          body: {
            name: `s-${block.split('.')[2]}`,
            cidr_block: block,
            availability_zone: 'local-1a',
          },
        }),
      );
    }

    beforeAll(async () => {
      await buildStandInImage();
      t = await startTestApp({
        label: 'cluster_nodes',
        config: {
          docker: 'docker',
          ovs: 'simulated',
          ovn: 'ovn',
          authRateLimitPerMinute: 10_000,
          k8sNodeImage: STAND_IN_IMAGE,
        },
      });
      alice = await signUp(t, 'k8s-nodes');
      sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
      const docker = dockerClient();
      runtime = new DockerNodeRuntime(
        docker,
        new EngineContainers(docker, 'cluster-nodes-e2e'),
        t.app.get<MachineNics>(MACHINE_NICS),
        t.app.get<ManagedInstances>(MANAGED_INSTANCES),
        new NsenterConnector(),
      );
    }, 120_000);

    afterAll(async () => {
      if (!t) return;
      for (const node of await runtime.nodesOf(clusterId).catch(() => [])) {
        await runtime.removeNode(nodeContainerName(clusterId, node.name)).catch(() => undefined);
      }
      await removeLabelledContainers(LABEL_CLUSTER, clusterId);
      await deleteVpcs(sdk, vpcIds);
      await t.close();
    });

    it('places a cluster in a subnet of its VPC: none is 409, one of another VPC 400, nothing appended', async () => {
      const bare = await vpc('k8s-bare', '10.71.0.0/16');
      const other = await vpc('k8s-other', '10.72.0.0/16');
      const otherSubnet = await subnet(other, '10.72.1.0/24');
      const body = {
        name: 'nodes',
        vpc_id: bare,
        version: 'v1.29.0' as const,
        workers: 1,
        ha: false,
      };
      const before = await countEvents(t, ['AccessDenied']);
      const noSubnet = await refusal(sdk.POST('/clusters', { body }));
      expect(noSubnet).toMatchObject({ status: 409, code: 'invalid_state' });
      expect(noSubnet.message).toMatch(/has no subnet/);
      const elsewhere = await refusal(
        sdk.POST('/clusters', { body: { ...body, subnet_id: otherSubnet.id } }),
      );
      expect(elsewhere).toMatchObject({ status: 400, code: 'validation_error' });
      expect(JSON.stringify(elsewhere.details)).toContain('subnet_id');
      const unknown = await refusal(
        sdk.POST('/clusters', { body: { ...body, subnet_id: randomUUID() } }),
      );
      expect(unknown).toMatchObject({ status: 404, code: 'not_found' });
      expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    });

    it('nodes get addresses of the subnet, reach each other and the gateway, and are reached through a loopback relay', async () => {
      const vpcId = await vpc('k8s-nodes', '10.73.0.0/16');
      const s = await subnet(vpcId, '10.73.1.0/24');
      const tenantId = alice.tenantId;
      const spec = (name: string, role: 'control-plane' | 'worker') => ({
        clusterId,
        clusterName: 'nodes',
        tenantId,
        vpcId,
        subnetId: s.id,
        container: nodeContainerName(clusterId, name),
        image: STAND_IN_IMAGE,
        node: { name, role },
      });
      const cp = spec('control-plane-0', 'control-plane');
      const worker = spec('worker-0', 'worker');
      const cpIp = await runtime.ensureNode(cp);
      const workerIp = await runtime.ensureNode(worker);
      expect(cpIp).toMatch(/^10\.73\.1\.\d+$/);
      expect(workerIp).toMatch(/^10\.73\.1\.\d+$/);
      expect(cpIp).not.toBe(workerIp);
      // Made again (a step repeated after a crash): the same machine, the same address.
      expect(await runtime.ensureNode(cp)).toBe(cpIp);
      expect((await runtime.nodesOf(clusterId)).map((n) => n.name).sort()).toEqual([
        'control-plane-0',
        'worker-0',
      ]);

      // Each node is an instance of the tenant, managed by the cluster: listed, refused to users.
      const nodeInstances = async () =>
        itemsOf(
          unwrap(
            await sdk.GET('/instances', {
              params: { query: { limit: 100, cluster_id: clusterId } },
            }),
          ),
        );
      const listed = await eventually(
        'the nodes listed as instances',
        async () => {
          const running = (await nodeInstances()).filter((i) => i.status === 'RUNNING');
          return running.length === 2 ? running : undefined;
        },
        30_000,
      );
      expect(
        listed.map((i) => [i.name, i.private_ip, i.subnet_id, i.managed_by?.role]).sort(),
      ).toEqual([
        ['nodes-control-plane-0', cpIp, s.id, 'control-plane-0'],
        ['nodes-worker-0', workerIp, s.id, 'worker-0'],
      ]);
      expect(listed.every((i) => i.managed_by?.id === clusterId)).toBe(true);
      const everything = itemsOf(
        unwrap(await sdk.GET('/instances', { params: { query: { limit: 100 } } })),
      );
      expect(everything.filter((i) => i.managed_by?.id === clusterId)).toHaveLength(2);
      const cpInstance = listed.find((i) => i.managed_by?.role === 'control-plane-0');
      const workerInstance = listed.find((i) => i.managed_by?.role === 'worker-0');
      // Each node's NIC is named by its instance: the subnet holds their addresses under those ids.
      const executor = t.app.get(CommandExecutor);
      const allocations = (await executor.load(subnetDecider, s.id)).state.allocations;
      expect(allocations[cpInstance?.id ?? '']).toBe(cpIp);
      expect(allocations[workerInstance?.id ?? '']).toBe(workerIp);
      expect(cpInstance).toMatchObject({
        image: STAND_IN_IMAGE,
        image_id: null,
        vpc_id: vpcId,
        allowed_actions: ['update'],
        price_per_hour: null,
      });
      // The node's own stream: other streams of the app may move meanwhile (in CI run 9 five
      // events landed elsewhere between the two counts of the whole store).
      const nodeRevision = async () =>
        (await executor.load(instanceDecider, cpInstance?.id ?? '')).revision;
      const before = await nodeRevision();
      const terminate = await refusal(
        sdk.DELETE('/instances/{id}', { params: { path: { id: cpInstance?.id ?? '' } } }),
      );
      expect(terminate).toMatchObject({ status: 409, code: 'invalid_state' });
      expect(terminate.message).toMatch(new RegExp(`control-plane-0 of cluster ${clusterId}`));
      const stop = await refusal(
        sdk.POST('/instances/{id}/stop', { params: { path: { id: cpInstance?.id ?? '' } } }),
      );
      expect(stop).toMatchObject({ status: 409, code: 'invalid_state' });
      expect(await nodeRevision()).toBe(before);
      const outsider = await signUp(t, 'k8s-outsider');
      const outsiderSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: outsider.apiKey });
      const hidden = await refusal(
        outsiderSdk.GET('/instances/{id}', { params: { path: { id: cpInstance?.id ?? '' } } }),
      );
      expect(hidden).toMatchObject({ status: 404 });

      // The node's only interface besides loopback is the NIC, with the default route.
      const { stdout: routes } = await execCommand('docker', ['exec', cp.container, 'ip', 'route']);
      expect(routes).toContain(`default via ${s.gateway_ip}`);
      expect(
        await until(() => execIn(worker.container, ['ping', '-c', '1', '-W', '1', cpIp]), 40),
      ).toBe(true);
      expect(await execIn(cp.container, ['ping', '-c', '1', '-W', '1', workerIp])).toBe(true);
      expect(await execIn(cp.container, ['ping', '-c', '1', '-W', '1', s.gateway_ip])).toBe(true);

      // The API server's relay: 127.0.0.1:<port> reaches port 6443 on the node's own loopback.
      const port = await runtime.relayedPort(cp.container, 6443);
      expect(await runtime.relayedPort(cp.container, 6443)).toBe(port);
      const message = `hello-${randomBytes(4).toString('hex')}`;
      const served = execCommand(
        'docker',
        ['exec', cp.container, 'timeout', '20', 'nc', '-l', '-p', '6443'],
        { timeoutMs: 30_000 },
      ).then(
        (r) => r.stdout,
        () => '',
      );
      const listening = () =>
        execCommand('docker', ['exec', cp.container, 'netstat', '-ltn']).then((r) =>
          r.stdout.includes(':6443 '),
        );
      expect(await until(listening, 40, 100)).toBe(true);
      await sendOnLoopback(port, message);
      expect(await served).toContain(message);

      // A subnet holding a node's address is not deleted.
      const busy = await refusal(sdk.DELETE('/subnets/{id}', { params: { path: { id: s.id } } }));
      expect(busy).toMatchObject({ status: 409 });
      // ...and what holds it is named as the instances the tenant can look up.
      expect(busy.message).toContain(cpInstance?.id ?? 'no instance');

      // The worker's address, freed, goes to a new node with a MAC of its own: the control plane,
      // which cached the old MAC a moment ago, reaches it at once (the plug announces the
      // address), not only once its neighbour entry goes stale (30 s or more).
      await runtime.removeNode(worker.container);
      const replacement = spec('worker-1', 'worker');
      expect(await runtime.ensureNode(replacement)).toBe(workerIp);
      expect(
        await until(() => execIn(cp.container, ['ping', '-c', '1', '-W', '1', workerIp]), 4),
      ).toBe(true);

      // Removed: address released, logical port gone, relay closed, container gone.
      await runtime.removeNode(cp.container);
      await runtime.removeNode(replacement.container);
      await runtime.removeNode(replacement.container);
      expect((await executor.load(subnetDecider, s.id)).state.allocations).toEqual({});
      await expect(sendOnLoopback(port, 'gone')).rejects.toThrow(/ECONNREFUSED/);
      expect(await runtime.nodesOf(clusterId)).toEqual([]);
      // Their instances ended with them: three machines, three instances, all TERMINATED.
      const ended = await eventually(
        'the node instances terminated',
        async () => {
          const all = await nodeInstances();
          return all.every((i) => i.status === 'TERMINATED') ? all : undefined;
        },
        30_000,
      );
      expect(ended.map((i) => i.status)).toEqual(['TERMINATED', 'TERMINATED', 'TERMINATED']);
      for (const instance of ended) expect(await nbHasPort(instance.id)).toBe(false);
      const deleted = await sdk.DELETE('/subnets/{id}', { params: { path: { id: s.id } } });
      expect(deleted.response.status).toBeLessThan(300);
    }, 120_000);
  },
);
