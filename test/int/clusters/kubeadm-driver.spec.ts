/**
 * The production kubeadm driver on real Docker with a real node image, when NIMBUS_K8S_NODE_IMAGE
 * names one (see src/clusters/drivers/kubeadm-plan.ts for what it must hold) and
 * NIMBUS_TEST_K8S_UPGRADE_TO the version to upgrade to (one minor up from NIMBUS_TEST_K8S_VERSION,
 * default v1.30.6). No Kubernetes node image can be built on this machine (no distribution is in
 * Debian or npm), so here this suite says loudly that it is skipped; its plans and order of work
 * are unit-tested in kubeadm-cluster-driver.unit.spec.ts.
 *
 * It provisions a cluster of one control plane and one worker, reads its nodes through the
 * Kubernetes API with the kubeconfig the driver hands out, upgrades the control plane and the
 * worker, scales to two workers and back, and destroys it (nothing of it left in Docker).
 */
import { afterAll, describe, expect, it } from 'vitest';

import {
  DockerNodeRuntime,
  LABEL_CLUSTER,
} from '../../../src/clusters/drivers/docker-node-runtime';
import { KubeadmClusterDriver } from '../../../src/clusters/drivers/kubeadm-cluster-driver';
import { EngineContainers } from '../../../src/drivers/engines/engine-containers';
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
  const driver = new KubeadmClusterDriver(
    new DockerNodeRuntime(docker, new EngineContainers(docker, 'kubeadm-contract')),
    { nodeImage: nodeImage ?? '' },
  );
  const spec = {
    clusterId,
    tenantId: '00000000-0000-4000-8000-000000000001',
    name: 'contract',
    vpcId: '00000000-0000-4000-8000-000000000002',
    version,
    workers: 1,
    ha: false,
  };

  afterAll(async () => {
    await driver.destroy(clusterId).catch(() => undefined);
  });

  it('provisions a cluster whose nodes are Ready through the kubeconfig it hands out', async () => {
    const cluster = await driver.provision(spec);
    expect(cluster.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
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
  }, 900_000);
});
