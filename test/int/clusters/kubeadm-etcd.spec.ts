/**
 * The kubeadm driver's etcd backups and restores on real etcd: stand-in control planes laid out
 * as kubeadm lays them out (fixtures/kubeadm-etcd-stand-in.ts: the etcd PKI, a static-pod
 * manifest, a kubelet stand-in that runs etcd while the manifest is there), one member and three.
 * Snapshots over TLS as kubeadm's healthcheck client; a restore onto every member, which turns
 * kubeadm's /var/lib/etcd into a link to the restored directory; a tampered snapshot refused
 * before etcd is touched; a switch interrupted after the hold converges when run again; switching
 * back (the restore saga's compensation) brings the previous data back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DockerNodeRuntime } from '../../../src/clusters/drivers/docker-node-runtime';
import { ETCD_IMAGE } from '../../../src/clusters/drivers/etcd-control-plane';
import { KubeadmEtcd } from '../../../src/clusters/drivers/kubeadm-etcd';
import {
  etcdctl,
  holdControlPlane,
  snapshotFile,
} from '../../../src/clusters/drivers/kubeadm-etcd-plan';
import { controlPlaneName, nodeContainerName } from '../../../src/clusters/drivers/kubeadm-plan';
import type { SnapshotFacts } from '../../../src/clusters/domain/backup';
import { NsenterConnector } from '../../../src/drivers/docker/namespace-connector';
import { EngineContainers } from '../../../src/drivers/engines/engine-containers';
import type { ManagedInstances } from '../../../src/compute/ports/managed-instances';
import type { MachineNics } from '../../../src/network/ports/machine-nics';
import { dockerClient, isCI, realDocker, removeLabelledContainers } from '../drivers/real-backends';
import { STAND_IN_LABEL, startStandInControlPlanes } from './fixtures/kubeadm-etcd-stand-in';

const backend = realDocker();
const docker = dockerClient();
const containers = new EngineContainers(docker, 'kubeadm-etcd-spec');
/** The stand-ins are made here, not through the runtime: nothing places a NIC or an instance. */
const noNics = (): never => {
  throw new Error('the etcd adapter places no NIC and records no instance');
};
const nics: MachineNics = { attach: noNics, plug: noNics, detach: noNics };
const instances: ManagedInstances = { register: noNics, remove: noNics };
const etcd = new KubeadmEtcd(
  new DockerNodeRuntime(docker, containers, nics, instances, new NsenterConnector()),
  { pollMs: 100, stopTimeoutMs: 30_000, healthyTimeoutMs: 60_000 },
);

async function ctl(container: string, args: string[]): Promise<string> {
  const { exitCode, output } = await containers.exec(container, etcdctl(args));
  if (exitCode !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${output}`);
  return output;
}

/** `/registry/` as etcdctl prints it: key, value, key, value... */
async function registry(container: string): Promise<string[]> {
  return (await ctl(container, ['get', '--prefix', '/registry/']))
    .split('\n')
    .filter((l) => l.length > 0);
}

async function sh(
  container: string,
  args: string[],
): Promise<{ exitCode: number; output: string }> {
  return containers.exec(container, args);
}

describe.each([1, 3])('kubeadm etcd backups and restores, %i member(s), real etcd', (members) => {
  const clusterId = randomUUID();
  const first = nodeContainerName(clusterId, controlPlaneName(0));
  let nodes: string[] = [];
  let facts: SnapshotFacts;
  let original: string[];
  const backupId = randomUUID();
  const firstRestore = `restore-${randomUUID()}`;

  beforeAll(async () => {
    const probe = await backend.probe();
    if (!probe.reachable) return;
    try {
      await docker.getImage(ETCD_IMAGE).inspect();
    } catch {
      if (isCI) throw new Error(`${ETCD_IMAGE} is missing (.ci/run builds it)`);
      return;
    }
    nodes = await startStandInControlPlanes(docker, containers, clusterId, members);
    const deadline = Date.now() + 60_000;
    while (!(await etcd.health(clusterId)).healthy) {
      if (Date.now() > deadline) throw new Error((await etcd.health(clusterId)).error ?? '');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(async () => {
    await removeLabelledContainers(STAND_IN_LABEL, clusterId);
  });

  it('snapshots the static pod over TLS, and a second call finds the same snapshot', async (ctx) => {
    backend.require(ctx);
    if (nodes.length === 0) ctx.skip(`${ETCD_IMAGE} is missing`);
    await ctl(first, ['put', '/registry/pods/default/web', 'v1']);
    await ctl(first, ['put', '/registry/pods/default/db', 'v1']);
    original = await registry(first);
    const health = await etcd.health(clusterId);
    expect(health).toMatchObject({ healthy: true, dataDir: 'data-0', error: null });

    facts = await etcd.snapshot(clusterId, backupId);
    expect(facts.revision).toBe(health.revision);
    expect(facts.totalKeys).toBeGreaterThanOrEqual(2);
    const sum = (await sh(first, ['sha256sum', snapshotFile(backupId)])).output.split(' ')[0];
    expect(facts.sha256).toBe(sum);
    await ctl(first, ['put', '/registry/pods/default/web', 'v2']);
    expect(await etcd.snapshot(clusterId, backupId)).toEqual(facts);
  }, 60_000);

  it("restores every member onto the snapshot; kubeadm's /var/lib/etcd becomes a link to it", async (ctx) => {
    backend.require(ctx);
    if (nodes.length === 0) ctx.skip(`${ETCD_IMAGE} is missing`);
    await ctl(first, ['del', '/registry/pods/default/db']);
    await ctl(first, ['put', '/registry/pods/default/cache', 'v1']);
    expect(await registry(first)).not.toEqual(original);

    const previous = await etcd.currentDataDir(clusterId);
    expect(previous).toBe('data-0');
    await etcd.restoreInto(clusterId, backupId, facts, firstRestore);
    // etcd kept serving the data it had meanwhile.
    expect(await registry(first)).not.toEqual(original);
    await etcd.switchTo(clusterId, firstRestore);
    await etcd.verify(clusterId, facts);
    await etcd.discardDataDir(clusterId, previous);

    expect(await registry(first)).toEqual(original);
    for (const node of nodes) {
      const link = await sh(node, ['readlink', '/var/lib/etcd']);
      expect(link.output.trim()).toBe(`/var/lib/nimbus-etcd/${firstRestore}`);
      expect((await sh(node, ['test', '-e', '/var/lib/nimbus-etcd/data-0'])).exitCode).toBe(1);
    }
    const list = JSON.parse(await ctl(first, ['member', 'list', '--write-out=json'])) as {
      members: { name: string }[];
    };
    expect(list.members.map((m) => m.name).sort()).toEqual(
      Array.from({ length: members }, (_, i) => controlPlaneName(i)),
    );
    await ctl(first, ['endpoint', 'health', '--cluster']);
    expect((await etcd.health(clusterId)).dataDir).toBe(firstRestore);
    await expect(etcd.discardDataDir(clusterId, firstRestore)).rejects.toThrow(
      /cannot be discarded/,
    );
  }, 120_000);

  it('refuses a tampered snapshot before etcd is touched', async (ctx) => {
    backend.require(ctx);
    if (nodes.length === 0) ctx.skip(`${ETCD_IMAGE} is missing`);
    const tampered = randomUUID();
    const tamperedFacts = await etcd.snapshot(clusterId, tampered);
    await sh(first, ['sh', '-c', 'printf x >> "$1"', 'tamper', snapshotFile(tampered)]);
    const target = `restore-${randomUUID()}`;
    await expect(etcd.restoreInto(clusterId, tampered, tamperedFacts, target)).rejects.toThrow(
      /does not match its recorded sha256/,
    );
    for (const node of nodes) {
      expect((await sh(node, ['test', '-e', `/var/lib/nimbus-etcd/${target}`])).exitCode).toBe(1);
    }
    expect(await etcd.currentDataDir(clusterId)).toBe(firstRestore);
    await etcd.removeSnapshot(clusterId, tampered);
    for (const node of nodes) {
      expect((await sh(node, ['test', '-e', snapshotFile(tampered)])).exitCode).toBe(1);
    }
  }, 60_000);

  it('converges when a switch is run again after a crash past the hold; switching back brings the previous data', async (ctx) => {
    backend.require(ctx);
    if (nodes.length === 0) ctx.skip(`${ETCD_IMAGE} is missing`);
    await ctl(first, ['put', '/registry/marker', 'at-backup']);
    const second = randomUUID();
    const secondFacts = await etcd.snapshot(clusterId, second);
    await ctl(first, ['put', '/registry/marker', 'after-backup']);
    const target = `restore-${randomUUID()}`;
    await etcd.restoreInto(clusterId, second, secondFacts, target);

    // The process died after holding the first node's static pods.
    await sh(first, holdControlPlane());
    await etcd.switchTo(clusterId, target);
    await etcd.verify(clusterId, secondFacts);
    expect(await ctl(first, ['get', '--print-value-only', '/registry/marker'])).toBe('at-backup\n');

    // The compensation of a failed restore: back onto the data etcd ran on before.
    await etcd.switchTo(clusterId, firstRestore);
    expect(await ctl(first, ['get', '--print-value-only', '/registry/marker'])).toBe(
      'after-backup\n',
    );
    await etcd.discardDataDir(clusterId, target);
    for (const node of nodes) {
      expect((await sh(node, ['test', '-e', `/var/lib/nimbus-etcd/${target}`])).exitCode).toBe(1);
    }
  }, 120_000);
});
