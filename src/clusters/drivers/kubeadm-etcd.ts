/**
 * Backups and restores of a kubeadm cluster's etcd: the static pods of its control-plane nodes,
 * reached with `docker exec` and the node image's etcdctl (the plans and the layout on the nodes
 * are in `kubeadm-etcd-plan.ts`). Every call is idempotent, so a saga step run again after a crash
 * converges: a snapshot that exists is whole, a data directory is written afresh, a switch holds,
 * points and releases whatever state it finds.
 */
import type { SnapshotFacts } from '../domain/backup';
import type { ControlPlaneEtcd, EtcdHealth } from '../ports/kubernetes';
import type { NodeRuntime } from './docker-node-runtime';
import {
  checkDataDir,
  checkId,
  lastLines,
  readEtcdHealth,
  parseSnapshotStatus,
} from './etcd-common';
import {
  contentDigest,
  controlPlaneRunning,
  currentDataDirOf,
  etcdctl,
  etcdMember,
  type EtcdMember,
  etcdutl,
  holdControlPlane,
  NIMBUS_ETCD_ROOT,
  pointEtcdAt,
  readEtcdManifest,
  releaseControlPlane,
  snapshotFile,
  SNAPSHOT_DIR,
  snapshotRestore,
  snapshotSave,
} from './kubeadm-etcd-plan';
import { controlPlaneName, nodeContainerName } from './kubeadm-plan';

/** What the etcd adapter needs of the node runtime. */
export type EtcdNodes = Pick<NodeRuntime, 'exec' | 'copyFile' | 'nodesOf'>;

export interface KubeadmEtcdOptions {
  /** How long a switch waits for the held static pods to stop. */
  stopTimeoutMs?: number;
  /** How long a switch waits for etcd to answer again. */
  healthyTimeoutMs?: number;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KubeadmEtcd implements ControlPlaneEtcd {
  private readonly stopTimeoutMs: number;
  private readonly healthyTimeoutMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly nodes: EtcdNodes,
    options: KubeadmEtcdOptions = {},
  ) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? 120_000;
    this.healthyTimeoutMs = options.healthyTimeoutMs ?? 300_000;
    this.pollMs = options.pollMs ?? 250;
  }

  private first(clusterId: string): string {
    return nodeContainerName(clusterId, controlPlaneName(0));
  }

  /** The control-plane containers, control-plane-0 first: every one runs a member. */
  private async controlPlanes(clusterId: string): Promise<string[]> {
    const planes = await this.controlPlanesIfAny(clusterId);
    if (planes.length === 0) {
      throw new Error(`cluster ${clusterId} has no ${controlPlaneName(0)} node`);
    }
    return planes;
  }

  /** ...or none when control-plane-0 is gone (the cluster's nodes removed). */
  private async controlPlanesIfAny(clusterId: string): Promise<string[]> {
    checkId('cluster', clusterId);
    const names = (await this.nodes.nodesOf(clusterId))
      .filter((n) => n.role === 'control-plane')
      .map((n) => n.name)
      .sort();
    if (!names.includes(controlPlaneName(0))) return [];
    return names.map((n) => nodeContainerName(clusterId, n));
  }

  private async run(container: string, args: string[]): Promise<string> {
    const { exitCode, output } = await this.nodes.exec(container, args);
    if (exitCode !== 0) {
      const shown = args[0] === 'sh' ? args[3] : args.slice(0, 3).join(' ');
      throw new Error(`${shown} in ${container} exited ${exitCode}: ${lastLines(output)}`);
    }
    return output;
  }

  private async succeeds(container: string, args: string[]): Promise<boolean> {
    return (await this.nodes.exec(container, args)).exitCode === 0;
  }

  async health(clusterId: string): Promise<EtcdHealth> {
    const first = this.first(clusterId);
    return readEtcdHealth(
      (args) => this.run(first, etcdctl(args)),
      () => this.dataDirOf(first),
    );
  }

  async snapshot(clusterId: string, backupId: string): Promise<SnapshotFacts> {
    checkId('cluster', clusterId);
    checkId('backup', backupId);
    const first = this.first(clusterId);
    const file = snapshotFile(backupId);
    // `snapshot save` writes <file>.part and renames it: a file that exists is whole.
    if (!(await this.succeeds(first, ['test', '-f', file]))) {
      await this.run(first, ['mkdir', '-p', SNAPSHOT_DIR]);
      await this.run(first, snapshotSave(backupId));
    }
    const status = parseSnapshotStatus(
      await this.run(first, etcdutl(['snapshot', 'status', '--write-out=json', file])),
    );
    return {
      sizeBytes: Number((await this.run(first, ['stat', '-c', '%s', file])).trim()),
      sha256: await this.sha256(first, file),
      revision: status.revision,
      totalKeys: status.totalKey,
      // MVCC: the content as of the snapshot's revision, read after it was taken.
      contentSha256: await this.contentSha256(first, status.revision),
    };
  }

  private async sha256(container: string, file: string): Promise<string> {
    return (await this.run(container, ['sha256sum', file])).trim().split(/\s+/)[0] ?? '';
  }

  private async contentSha256(container: string, revision: number): Promise<string> {
    const printed = await this.run(container, contentDigest(revision));
    const digest = /^([0-9a-f]{64})\b/m.exec(printed)?.[1];
    if (!digest) throw new Error(`no digest of etcd's content: ${lastLines(printed)}`);
    return digest;
  }

  async removeSnapshot(clusterId: string, backupId: string): Promise<void> {
    checkId('backup', backupId);
    const file = snapshotFile(backupId);
    // No control plane: the cluster's nodes went, and the snapshots with them.
    const planes = await this.controlPlanesIfAny(clusterId);
    for (const container of planes) await this.run(container, ['rm', '-f', file, `${file}.part`]);
  }

  private async dataDirOf(container: string): Promise<string> {
    return (await this.run(container, currentDataDirOf())).trim();
  }

  async currentDataDir(clusterId: string): Promise<string> {
    return this.dataDirOf(this.first(clusterId));
  }

  async restoreInto(
    clusterId: string,
    backupId: string,
    expected: SnapshotFacts,
    dataDir: string,
  ): Promise<void> {
    checkId('backup', backupId);
    checkDataDir(dataDir);
    const planes = await this.controlPlanes(clusterId);
    const first = this.first(clusterId);
    const file = snapshotFile(backupId);
    const members: { container: string; member: EtcdMember }[] = [];
    for (const container of planes) {
      members.push({
        container,
        member: etcdMember(await this.run(container, readEtcdManifest())),
      });
    }
    const cluster = members.map((m) => m.member);
    const target = `${NIMBUS_ETCD_ROOT}/${dataDir}`;
    try {
      for (const { container, member } of members) {
        if (container !== first && !(await this.succeeds(container, ['test', '-f', file]))) {
          await this.nodes.copyFile(first, file, container, SNAPSHOT_DIR);
        }
        const sum = await this.sha256(container, file);
        if (sum !== expected.sha256) {
          throw new Error(
            `snapshot ${backupId} on ${container} does not match its recorded sha256 (${expected.sha256}, now ${sum})`,
          );
        }
        await this.run(container, ['rm', '-rf', target]);
        await this.run(container, snapshotRestore(backupId, dataDir, member, cluster));
      }
    } catch (error) {
      for (const container of planes) {
        await this.nodes.exec(container, ['rm', '-rf', target]).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * Every member stopped (with the API servers), every one pointed at `dataDir`, every one
   * started: a cluster never runs with members on different data. Should pointing fail on one
   * node, the control plane stays held; the restore saga's compensation switches back, which
   * releases it.
   */
  async switchTo(clusterId: string, dataDir: string): Promise<void> {
    checkDataDir(dataDir);
    const planes = await this.controlPlanes(clusterId);
    for (const container of planes) await this.run(container, holdControlPlane());
    for (const container of planes) await this.waitStopped(container);
    for (const container of planes) await this.run(container, pointEtcdAt(dataDir));
    for (const container of planes) await this.run(container, releaseControlPlane());
    await this.waitHealthy(clusterId);
  }

  private async waitStopped(container: string): Promise<void> {
    const deadline = Date.now() + this.stopTimeoutMs;
    for (;;) {
      const probe = await this.nodes.exec(container, controlPlaneRunning());
      if (probe.exitCode === 1) return;
      if (probe.exitCode !== 0) {
        throw new Error(
          `cannot tell whether etcd runs in ${container}: ${lastLines(probe.output)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`${probe.output.trim()} still runs in ${container} with its manifest held`);
      }
      await sleep(this.pollMs);
    }
  }

  private async waitHealthy(clusterId: string): Promise<void> {
    const deadline = Date.now() + this.healthyTimeoutMs;
    for (;;) {
      const health = await this.health(clusterId);
      if (health.healthy) return;
      if (Date.now() > deadline) {
        throw new Error(`etcd of cluster ${clusterId} did not answer again: ${health.error}`);
      }
      await sleep(this.pollMs);
    }
  }

  /**
   * Healthy, at the snapshot's revision or past it (the API servers write as soon as they are
   * back), holding at that revision exactly what the snapshot held.
   */
  async verify(clusterId: string, expected: SnapshotFacts): Promise<void> {
    const health = await this.health(clusterId);
    if (!health.healthy) throw new Error(`etcd is not healthy after the restore: ${health.error}`);
    if (health.revision === null || health.revision < expected.revision) {
      throw new Error(
        `etcd is at revision ${health.revision} after the restore, the backup at ${expected.revision}`,
      );
    }
    const content = await this.contentSha256(this.first(clusterId), expected.revision);
    if (content !== expected.contentSha256) {
      throw new Error(`etcd's content at revision ${expected.revision} is not the backup's`);
    }
  }

  async discardDataDir(clusterId: string, dataDir: string): Promise<void> {
    checkDataDir(dataDir);
    for (const container of await this.controlPlanes(clusterId)) {
      if ((await this.dataDirOf(container)) === dataDir) {
        throw new Error(`etcd runs on ${dataDir} in ${container}; it cannot be discarded`);
      }
      await this.run(container, ['rm', '-rf', `${NIMBUS_ETCD_ROOT}/${dataDir}`]);
    }
  }
}
