/**
 * The etcd of a cluster's control plane, for real: one container per cluster from
 * nimbus/etcd:3.4 (docker/engine-images/etcd, Debian's etcd-server 3.4), named
 * `nimbus-cluster-<id>-etcd`, labelled like the engine containers, with no network at all (etcd
 * listens on the container's own loopback; everything goes through `docker exec etcdctl ...`, an
 * argument array, so no port of the range is taken and no two clusters collide on 2379/2380).
 *
 * Two named volumes: `nimbus-cluster-<id>-etcd` at /var/lib/nimbus holds etcd's data directories
 * (`current` is a symbolic link to the one etcd runs on: `data-0`, then `restore-<restoreId>`),
 * `nimbus-cluster-<id>-backups` at /var/lib/nimbus-backups holds the snapshots (`<backupId>.db`).
 * A restore writes a fresh data directory with `etcdctl snapshot restore`, swaps the link
 * atomically (`ln -s` then `mv -T`) and restarts the container; the previous directory stays until
 * the restore is verified, so a failed one is undone by swapping back.
 */
import { createHash } from 'node:crypto';

import type { EngineContainers } from '../../drivers/engines/engine-containers';
import type { EngineImageSource } from '../../drivers/engines/engine-images';
import type { SnapshotFacts } from '../domain/backup';
import type { ClusterNode } from '../domain/cluster';
import type { ClusterSpec, ControlPlaneEtcd, EtcdHealth } from '../ports/kubernetes';
import {
  checkDataDir,
  checkId,
  lastLines,
  etcdDown,
  readEtcdHealth,
  parseSnapshotStatus,
} from './etcd-common';

export const ETCD_IMAGE = 'nimbus/etcd:3.4';
const DATA_ROOT = '/var/lib/nimbus';
const BACKUP_ROOT = '/var/lib/nimbus-backups';
const MEMBER = 'control-plane';
const PEER_URL = 'http://127.0.0.1:2380';
/** Where the cluster's own records live in its etcd. */
export const CLUSTER_PREFIX = '/nimbus/cluster/';
const NODE_PREFIX = `${CLUSTER_PREFIX}nodes/`;
const ETCD_MEMORY_BYTES = 256 * 1024 * 1024;
const READY_ATTEMPTS = 300;

export function etcdContainerName(clusterId: string): string {
  return `nimbus-cluster-${clusterId}-etcd`;
}
export function etcdDataVolume(clusterId: string): string {
  return `nimbus-cluster-${clusterId}-etcd`;
}
export function etcdBackupVolume(clusterId: string): string {
  return `nimbus-cluster-${clusterId}-backups`;
}
export function snapshotPath(backupId: string): string {
  return `${BACKUP_ROOT}/${backupId}.db`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EtcdControlPlane implements ControlPlaneEtcd {
  constructor(
    private readonly containers: EngineContainers,
    private readonly images: EngineImageSource,
  ) {}

  /** Runs etcdctl in the cluster's etcd container; rejects with its output on a non-zero exit. */
  private async etcdctl(clusterId: string, args: string[]): Promise<string> {
    return this.run(clusterId, [
      'etcdctl',
      '--endpoints=http://127.0.0.1:2379',
      '--dial-timeout=2s',
      '--command-timeout=10s',
      ...args,
    ]);
  }

  private async run(clusterId: string, cmd: string[]): Promise<string> {
    const { exitCode, output } = await this.containers.exec(etcdContainerName(clusterId), cmd);
    if (exitCode !== 0) {
      throw new Error(`${cmd.slice(0, 3).join(' ')} exited ${exitCode}: ${lastLines(output)}`);
    }
    return output;
  }

  /** The container (create-if-absent, start-if-stopped), then waits until etcd answers. */
  async ensure(spec: ClusterSpec, signal?: AbortSignal): Promise<void> {
    checkId('cluster', spec.clusterId);
    await this.images.ensure(ETCD_IMAGE);
    const labels = { 'nimbus.engine-resource': spec.clusterId, 'nimbus.tenant': spec.tenantId };
    await this.containers.ensureVolume(etcdDataVolume(spec.clusterId), labels);
    await this.containers.ensureVolume(etcdBackupVolume(spec.clusterId), labels);
    await this.containers.ensureRunning({
      name: etcdContainerName(spec.clusterId),
      image: ETCD_IMAGE,
      engine: 'etcd',
      kind: 'cluster',
      resourceId: spec.clusterId,
      tenantId: spec.tenantId,
      role: 'etcd',
      network: 'none',
      env: () => [],
      memoryBytes: ETCD_MEMORY_BYTES,
      volumes: [
        { name: etcdDataVolume(spec.clusterId), mountPath: DATA_ROOT },
        { name: etcdBackupVolume(spec.clusterId), mountPath: BACKUP_ROOT },
      ],
    });
    await this.waitHealthy(spec.clusterId, signal);
  }

  private async waitHealthy(clusterId: string, signal?: AbortSignal): Promise<void> {
    let last: string | null = null;
    for (let attempt = 0; attempt < READY_ATTEMPTS && !signal?.aborted; attempt++) {
      const health = await this.health(clusterId);
      if (health.healthy) return;
      last = health.error;
      await sleep(100);
    }
    throw new Error(`etcd of cluster ${clusterId} did not become healthy: ${last ?? 'aborted'}`);
  }

  /**
   * The cluster's spec and one record per node, as they are now: what differs is put, removed
   * nodes are deleted, records already right are left alone (one `get` and a `put` per change).
   */
  async writeClusterState(spec: ClusterSpec, nodes: ClusterNode[]): Promise<void> {
    const stored = parsePairs(
      await this.etcdctl(spec.clusterId, ['get', '--prefix', CLUSTER_PREFIX]),
    );
    const wanted = new Map<string, string>(
      nodes.map((n) => [
        `${NODE_PREFIX}${n.name}`,
        JSON.stringify({ role: n.role, kubeletVersion: n.version }),
      ]),
    );
    wanted.set(
      `${CLUSTER_PREFIX}spec`,
      JSON.stringify({
        name: spec.name,
        version: spec.version,
        workers: nodes.filter((n) => n.role === 'worker').length,
        ha: spec.ha,
      }),
    );
    for (const key of stored.keys()) {
      if (key.startsWith(NODE_PREFIX) && !wanted.has(key)) {
        await this.etcdctl(spec.clusterId, ['del', key]);
      }
    }
    for (const [key, value] of wanted) {
      if (stored.get(key) !== value) await this.etcdctl(spec.clusterId, ['put', key, value]);
    }
  }

  /** Container and both volumes (snapshots included): delete-if-present. */
  async destroy(clusterId: string): Promise<void> {
    checkId('cluster', clusterId);
    await this.containers.remove(etcdContainerName(clusterId));
    await this.containers.removeVolume(etcdDataVolume(clusterId));
    await this.containers.removeVolume(etcdBackupVolume(clusterId));
  }

  async health(clusterId: string): Promise<EtcdHealth> {
    const container = await this.containers.inspect(etcdContainerName(clusterId));
    if (!container) return etcdDown('the etcd container does not exist');
    if (!container.running) return etcdDown('the etcd container is not running');
    return readEtcdHealth(
      (args) => this.etcdctl(clusterId, args),
      () => this.currentDataDir(clusterId),
    );
  }

  async snapshot(clusterId: string, backupId: string): Promise<SnapshotFacts> {
    checkId('cluster', clusterId);
    checkId('backup', backupId);
    const file = snapshotPath(backupId);
    // `snapshot save` writes <file>.part and renames it: a file that exists is whole.
    const exists = await this.containers.exec(etcdContainerName(clusterId), ['test', '-f', file]);
    if (exists.exitCode !== 0) await this.etcdctl(clusterId, ['snapshot', 'save', file]);
    return this.facts(clusterId, file);
  }

  private async facts(clusterId: string, file: string): Promise<SnapshotFacts> {
    const status = parseSnapshotStatus(
      await this.etcdctl(clusterId, ['snapshot', 'status', '--write-out=json', file]),
    );
    const sha256 = (await this.run(clusterId, ['sha256sum', file])).trim().split(/\s+/)[0] ?? '';
    const size = Number((await this.run(clusterId, ['stat', '-c', '%s', file])).trim());
    // MVCC: the content as of the snapshot's revision, read after it was taken.
    const content = await this.content(clusterId, status.revision);
    return {
      sizeBytes: size,
      sha256,
      revision: status.revision,
      totalKeys: status.totalKey,
      contentSha256: createHash('sha256').update(content, 'utf8').digest('hex'),
    };
  }

  /** The cluster's keys and values (etcdctl's plain output), at `revision` or now. */
  private content(clusterId: string, revision?: number): Promise<string> {
    return this.etcdctl(clusterId, [
      'get',
      '--prefix',
      CLUSTER_PREFIX,
      ...(revision ? [`--rev=${revision}`] : []),
    ]);
  }

  async removeSnapshot(clusterId: string, backupId: string): Promise<void> {
    checkId('cluster', clusterId);
    checkId('backup', backupId);
    const container = await this.containers.inspect(etcdContainerName(clusterId));
    // No container: the cluster's volumes went with it, the snapshot too.
    if (!container) return;
    if (!container.running) await this.containers.start(etcdContainerName(clusterId));
    await this.run(clusterId, [
      'rm',
      '-f',
      snapshotPath(backupId),
      `${snapshotPath(backupId)}.part`,
    ]);
  }

  async currentDataDir(clusterId: string): Promise<string> {
    return (await this.run(clusterId, ['readlink', `${DATA_ROOT}/current`])).trim();
  }

  async restoreInto(
    clusterId: string,
    backupId: string,
    expected: SnapshotFacts,
    dataDir: string,
  ): Promise<void> {
    checkId('cluster', clusterId);
    checkId('backup', backupId);
    checkDataDir(dataDir);
    const file = snapshotPath(backupId);
    const sum = (await this.run(clusterId, ['sha256sum', file])).trim().split(/\s+/)[0];
    if (sum !== expected.sha256) {
      throw new Error(
        `snapshot ${backupId} does not match its recorded sha256 (${expected.sha256}, now ${sum})`,
      );
    }
    await this.run(clusterId, ['rm', '-rf', `${DATA_ROOT}/${dataDir}`]);
    try {
      await this.etcdctl(clusterId, [
        'snapshot',
        'restore',
        file,
        `--data-dir=${DATA_ROOT}/${dataDir}`,
        `--name=${MEMBER}`,
        `--initial-cluster=${MEMBER}=${PEER_URL}`,
        `--initial-advertise-peer-urls=${PEER_URL}`,
      ]);
    } catch (error) {
      await this.run(clusterId, ['rm', '-rf', `${DATA_ROOT}/${dataDir}`]).catch(() => undefined);
      throw error;
    }
  }

  async switchTo(clusterId: string, dataDir: string): Promise<void> {
    checkId('cluster', clusterId);
    checkDataDir(dataDir);
    const name = etcdContainerName(clusterId);
    const container = await this.containers.inspect(name);
    if (!container) throw new Error(`the etcd container of cluster ${clusterId} does not exist`);
    if (!container.running) await this.containers.start(name);
    if ((await this.currentDataDir(clusterId)) !== dataDir) {
      await this.run(clusterId, ['test', '-d', `${DATA_ROOT}/${dataDir}/member`]);
      await this.run(clusterId, ['ln', '-sfn', dataDir, `${DATA_ROOT}/current.next`]);
      await this.run(clusterId, ['mv', '-T', `${DATA_ROOT}/current.next`, `${DATA_ROOT}/current`]);
    }
    // etcd keeps the directory it started on open and reads the link again only when it starts:
    // restarted even when the link was already swapped (a repeat after a crash between the two).
    await this.containers.stop(name);
    await this.containers.start(name);
    await this.waitHealthy(clusterId);
  }

  async verify(clusterId: string, expected: SnapshotFacts): Promise<void> {
    const health = await this.health(clusterId);
    if (!health.healthy) throw new Error(`etcd is not healthy after the restore: ${health.error}`);
    if (health.revision !== expected.revision) {
      throw new Error(
        `etcd is at revision ${health.revision} after the restore, the backup at ${expected.revision}`,
      );
    }
    const content = createHash('sha256')
      .update(await this.content(clusterId), 'utf8')
      .digest('hex');
    if (content !== expected.contentSha256) {
      throw new Error("etcd's content after the restore is not the backup's");
    }
  }

  async discardDataDir(clusterId: string, dataDir: string): Promise<void> {
    checkDataDir(dataDir);
    if ((await this.currentDataDir(clusterId)) === dataDir) {
      throw new Error(`etcd runs on ${dataDir}; it cannot be discarded`);
    }
    await this.run(clusterId, ['rm', '-rf', `${DATA_ROOT}/${dataDir}`]);
  }
}

/** etcdctl's plain `get` output: a key line, then its value line (our values are one line). */
export function parsePairs(output: string): Map<string, string> {
  const lines = output.split('\n').filter((l) => l.length > 0);
  const pairs = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) pairs.set(lines[i], lines[i + 1]);
  return pairs;
}
