/**
 * The production kubeadm driver on real Docker with a real node image, when NIMBUS_K8S_NODE_IMAGE
 * names one (see src/clusters/drivers/kubeadm-plan.ts for what it must hold) and
 * NIMBUS_TEST_K8S_UPGRADE_TO the version to upgrade to (one minor up from NIMBUS_TEST_K8S_VERSION,
 * default v1.30.6). No Kubernetes node image can be built on this machine (no distribution is in
 * Debian or npm), so here this suite says loudly that it is skipped; its plans and order of work
 * are unit-tested in kubeadm-cluster-driver.unit.spec.ts.
 *
 * It needs OVN too: the nodes are placed in a subnet of a VPC made through the API of a test app.
 * It provisions a cluster of one control plane and one worker, reads its nodes through the
 * Kubernetes API with the kubeconfig the driver hands out (through the relay on 127.0.0.1),
 * upgrades the control plane and the worker, scales to two workers and back, and destroys it
 * (nothing of it left in Docker, every address of the subnet released).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DockerNodeRuntime,
  LABEL_CLUSTER,
} from '../../../src/clusters/drivers/docker-node-runtime';
import { KubeadmClusterDriver } from '../../../src/clusters/drivers/kubeadm-cluster-driver';
import type { ClusterSpec } from '../../../src/clusters/ports/kubernetes';
import { NsenterConnector } from '../../../src/drivers/docker/namespace-connector';
import { EngineContainers } from '../../../src/drivers/engines/engine-containers';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { subnetDecider } from '../../../src/network/domain';
import {
  MANAGED_INSTANCES,
  type ManagedInstances,
} from '../../../src/compute/ports/managed-instances';
import { MACHINE_NICS, type MachineNics } from '../../../src/network/ports/machine-nics';
import { createNimbusClient, unwrap } from '../../../src/sdk/client';
import { signUp } from '../../e2e/identity.helpers';
import { startTestApp, type TestApp } from '../../support/app';
import { dockerClient } from '../drivers/real-backends';

const nodeImage = process.env.NIMBUS_K8S_NODE_IMAGE;
const version = process.env.NIMBUS_TEST_K8S_VERSION ?? 'v1.30.6';
const upgradeTo = process.env.NIMBUS_TEST_K8S_UPGRADE_TO;
const skipReason = nodeImage
  ? undefined
  : 'NIMBUS_K8S_NODE_IMAGE is not set (no Kubernetes node image can be built on this machine)';
if (skipReason) {
  console.warn(`\n[clusters] SKIPPING the kubeadm driver on a real node image: ${skipReason}\n`);
}

describe.skipIf(skipReason !== undefined)('kubeadm cluster driver on a real node image', () => {
  const docker = dockerClient();
  const clusterId = '0b6c1d9e-5f0a-4c4e-8d1e-7a3b2c1d0e9f';
  let t: TestApp;
  let driver: KubeadmClusterDriver;
  let spec: ClusterSpec;

  beforeAll(async () => {
    t = await startTestApp({
      label: 'kubeadm_driver',
      config: { docker: 'docker', ovn: 'ovn', ovs: 'simulated', authRateLimitPerMinute: 10_000 },
    });
    const account = await signUp(t, 'kubeadm');
    const sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: account.apiKey });
    const vpc = unwrap(
      await sdk.POST('/vpcs', { body: { name: 'kubeadm', cidr_block: '10.74.0.0/16' } }),
    );
    const subnet = unwrap(
      await sdk.POST('/vpcs/{vpcId}/subnets', {
        params: { path: { vpcId: vpc.id } },
        body: { name: 'nodes', cidr_block: '10.74.1.0/24', availability_zone: 'local-1a' },
      }),
    );
    driver = new KubeadmClusterDriver(
      new DockerNodeRuntime(
        docker,
        new EngineContainers(docker, 'kubeadm-contract'),
        t.app.get<MachineNics>(MACHINE_NICS),
        t.app.get<ManagedInstances>(MANAGED_INSTANCES),
        new NsenterConnector(),
      ),
      { nodeImage: nodeImage ?? '' },
    );
    spec = {
      clusterId,
      tenantId: account.tenantId,
      name: 'contract',
      vpcId: vpc.id,
      subnetId: subnet.id,
      version,
      workers: 1,
      ha: false,
    };
  }, 120_000);

  afterAll(async () => {
    await driver?.destroy(clusterId).catch(() => undefined);
    await t?.close();
  });

  it('provisions a cluster whose nodes are Ready through the kubeconfig it hands out', async () => {
    const cluster = await driver.provision(spec);
    expect(cluster.endpoint).toMatch(/^https:\/\/10\.74\.1\.\d+:6443$/);
    expect(cluster.nodes.map((n) => n.role)).toEqual(['control-plane', 'worker']);
    const api = await driver.api(clusterId);
    expect(await api.serverVersion()).toBe(version);
    const nodes = await api.listNodes();
    expect(nodes.every((n) => n.ready && n.kubeletVersion === version)).toBe(true);
    // Provisioning again converges: nothing is bootstrapped twice.
    expect((await driver.provision(spec)).nodes).toHaveLength(2);
  }, 900_000);

  it.skipIf(!upgradeTo)(
    'upgrades the control plane, then a worker, to the next version',
    async () => {
      const target = upgradeTo as string;
      await driver.upgradeControlPlane(clusterId, target);
      const api = await driver.api(clusterId);
      expect(await api.serverVersion()).toBe(target);
      await driver.upgradeKubelet(clusterId, 'worker-0', target);
      for (let i = 0; i < 120; i++) {
        const worker = await api.getNode('worker-0');
        if (worker?.ready && worker.kubeletVersion === target) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
      throw new Error('worker-0 did not come back Ready at the target version');
    },
    900_000,
  );

  it('scales to two workers and back, then destroys everything', async () => {
    expect((await driver.scale(spec, 2)).filter((n) => n.role === 'worker')).toHaveLength(2);
    expect((await driver.scale(spec, 1)).filter((n) => n.role === 'worker')).toHaveLength(1);
    await driver.destroy(clusterId);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_CLUSTER}=${clusterId}`] },
    });
    expect(left).toEqual([]);
    const subnet = await t.app.get(CommandExecutor).load(subnetDecider, spec.subnetId as string);
    expect(subnet.state.allocations).toEqual({});
  }, 900_000);
});
