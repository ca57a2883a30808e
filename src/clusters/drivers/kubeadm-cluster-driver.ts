/**
 * The production cluster driver (`kind: kubeadm`), chosen when NIMBUS_K8S_NODE_IMAGE names a node
 * image (see `kubeadm-plan.ts` for what the image must hold). A cluster's nodes are containers of
 * that image with a NIC in a subnet of the cluster's VPC (`NodeRuntime`), so the API server, the
 * joins and the nodes' traffic use the VPC's addresses; they are bootstrapped with `kubeadm init` and `kubeadm join`,
 * upgraded with `kubeadm upgrade apply` / `upgrade node` and the target version's kubelet, all
 * through `docker exec`. Cluster state is read and changed only through the Kubernetes API
 * (`KubeClientApi`, @kubernetes/client-node), with the admin kubeconfig read from the first
 * control-plane node each time; Nimbus stores no credential of the cluster.
 *
 * Every call is idempotent, named by the cluster id: a node whose kubelet.conf exists has joined,
 * a control plane whose admin.conf exists is initialised, so a saga step run again converges.
 */
import { randomBytes, randomInt } from 'node:crypto';

import type { ClusterNode } from '../domain/cluster';
import type {
  ClusterDriver,
  ClusterSpec,
  ControlPlaneEtcd,
  KubeNode,
  KubernetesApi,
  ProvisionedCluster,
} from '../ports/kubernetes';
import { KubeClientApi } from './kube-client-api';
import { KubeadmEtcd, type KubeadmEtcdOptions } from './kubeadm-etcd';
import {
  ADMIN_KUBECONFIG,
  API_SERVER_PORT,
  controlPlaneEndpoint,
  controlPlaneName,
  controlPlaneRollback,
  controlPlaneUpgrade,
  discoveryHash,
  externalKubeconfig,
  installBinaries,
  kubeadmInit,
  kubeadmJoin,
  kubeadmReset,
  kubeadmTokenCreate,
  listManifestBackups,
  newestManifestBackup,
  nodeContainerName,
  plannedNodes,
  readAdminKubeconfig,
  readCaCert,
  workerUpgrade,
  type PlannedNode,
} from './kubeadm-plan';
import type { NodeRuntime } from './docker-node-runtime';

const JOINED_MARK = '/etc/kubernetes/kubelet.conf';
/** A CNI manifest the node image carries, applied once after init (nodes are NotReady without one). */
export const CNI_MANIFEST = '/opt/nimbus/k8s/cni.yaml';

export interface KubeadmDriverOptions {
  nodeImage: string;
  /** How long provisioning waits for every node to be Ready. */
  readyTimeoutMs?: number;
  pollMs?: number;
  /** The Kubernetes API of a cluster, from its kubeconfig (tests pass a fake). */
  connect?: (kubeconfig: string) => Promise<KubernetesApi>;
  etcd?: KubeadmEtcdOptions;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KubeadmClusterDriver implements ClusterDriver {
  readonly kind = 'kubeadm';
  readonly nodesInVpc = true;
  /** The control plane's static-pod etcd, snapshotted and restored on its nodes. */
  readonly etcd: ControlPlaneEtcd;
  private readonly readyTimeoutMs: number;
  private readonly pollMs: number;
  private readonly connect: NonNullable<KubeadmDriverOptions['connect']>;

  constructor(
    private readonly runtime: NodeRuntime,
    private readonly options: KubeadmDriverOptions,
  ) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 600_000;
    this.pollMs = options.pollMs ?? 2_000;
    this.connect = options.connect ?? ((config) => KubeClientApi.fromKubeconfig(config));
    this.etcd = new KubeadmEtcd(runtime, options.etcd);
  }

  private container(clusterId: string, node: string): string {
    return nodeContainerName(clusterId, node);
  }

  private firstControlPlane(clusterId: string): string {
    return this.container(clusterId, controlPlaneName(0));
  }

  /** Runs a command in a node; rejects with what it printed on a non-zero exit. */
  private async run(container: string, args: string[]): Promise<string> {
    const { exitCode, output } = await this.runtime.exec(container, args);
    if (exitCode !== 0) {
      throw new Error(
        `${args.slice(0, 3).join(' ')} in ${container} failed (${exitCode}): ${output.trim().slice(-2000)}`,
      );
    }
    return output;
  }

  private async runAll(container: string, commands: string[][]): Promise<void> {
    for (const args of commands) await this.run(container, args);
  }

  private async succeeds(container: string, args: string[]): Promise<boolean> {
    return (await this.runtime.exec(container, args)).exitCode === 0;
  }

  /** The nodes made or found, each with its NIC in the cluster's subnet; their addresses. */
  private async ensureNodes(spec: ClusterSpec, nodes: PlannedNode[]): Promise<Map<string, string>> {
    if (spec.subnetId === null) {
      throw new Error(`cluster ${spec.clusterId} has no subnet to place its nodes in`);
    }
    const addresses = new Map<string, string>();
    for (const node of nodes) {
      const ip = await this.runtime.ensureNode({
        clusterId: spec.clusterId,
        clusterName: spec.name,
        tenantId: spec.tenantId,
        vpcId: spec.vpcId,
        subnetId: spec.subnetId,
        container: this.container(spec.clusterId, node.name),
        image: this.options.nodeImage,
        node,
      });
      addresses.set(node.name, ip);
    }
    return addresses;
  }

  /** The first control plane, made or found: its address. */
  private async firstControlPlaneIp(spec: ClusterSpec): Promise<string> {
    const first = { name: controlPlaneName(0), role: 'control-plane' as const };
    return (await this.ensureNodes(spec, [first])).get(first.name) as string;
  }

  /** `kubeadm init` on the first control-plane node unless it was, and the CNI applied. */
  private async initialise(spec: ClusterSpec, firstIp: string): Promise<void> {
    const first = this.firstControlPlane(spec.clusterId);
    if (await this.succeeds(first, ['test', '-f', ADMIN_KUBECONFIG])) return;
    await this.runAll(first, installBinaries(spec.version, ['kubeadm', 'kubelet']));
    await this.run(
      first,
      kubeadmInit({
        version: spec.version,
        advertiseAddress: firstIp,
        controlPlaneEndpoint: controlPlaneEndpoint(firstIp),
        token: `${randomToken(6)}.${randomToken(16)}`,
        certificateKey: randomBytes(32).toString('hex'),
      }),
    );
    await this.run(first, [
      'kubectl',
      `--kubeconfig=${ADMIN_KUBECONFIG}`,
      'apply',
      '-f',
      CNI_MANIFEST,
    ]);
  }

  /** Joins every node of `nodes` that has not joined (a fresh token, and certificates for HA). */
  private async join(
    spec: ClusterSpec,
    nodes: PlannedNode[],
    addresses: Map<string, string>,
  ): Promise<void> {
    const endpoint = controlPlaneEndpoint(addresses.get(controlPlaneName(0)) as string);
    const first = this.firstControlPlane(spec.clusterId);
    let credentials: { token: string; caCertHash: string; certificateKey: string | null } | null =
      null;
    for (const node of nodes) {
      if (node.name === controlPlaneName(0)) continue;
      const container = this.container(spec.clusterId, node.name);
      if (await this.succeeds(container, ['test', '-f', JOINED_MARK])) continue;
      credentials ??= {
        token: (await this.run(first, kubeadmTokenCreate())).trim().split('\n').at(-1) ?? '',
        caCertHash: discoveryHash(await this.run(first, readCaCert())),
        certificateKey: null,
      };
      if (node.role === 'control-plane' && credentials.certificateKey === null) {
        const uploaded = await this.run(first, [
          'kubeadm',
          'init',
          'phase',
          'upload-certs',
          '--upload-certs',
        ]);
        credentials.certificateKey = uploaded.trim().split('\n').at(-1) ?? null;
      }
      await this.runAll(container, installBinaries(spec.version, ['kubeadm', 'kubelet']));
      await this.run(
        container,
        kubeadmJoin({
          controlPlaneEndpoint: endpoint,
          token: credentials.token,
          caCertHash: credentials.caCertHash,
          ...(node.role === 'control-plane' && credentials.certificateKey
            ? {
                certificateKey: credentials.certificateKey,
                advertiseAddress: addresses.get(node.name),
              }
            : {}),
        }),
      );
    }
  }

  /** Until every named node is registered and Ready (bounded); the nodes as the API has them. */
  private async waitReady(clusterId: string, names: readonly string[]): Promise<KubeNode[]> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let last: string;
    for (;;) {
      try {
        const api = await this.api(clusterId);
        const nodes = await api.listNodes();
        const notReady = names.filter((n) => !nodes.some((k) => k.name === n && k.ready));
        if (notReady.length === 0) return nodes;
        last = `not Ready: ${notReady.join(', ')}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline)
        throw new Error(`cluster ${clusterId} nodes not Ready in time (${last})`);
      await sleep(this.pollMs);
    }
  }

  private nodesOf(kube: KubeNode[], fallbackVersion: string): ClusterNode[] {
    return kube
      .map((n) => ({ name: n.name, role: n.role, version: n.kubeletVersion ?? fallbackVersion }))
      .sort((a, b) =>
        a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'control-plane' ? -1 : 1,
      );
  }

  async provision(spec: ClusterSpec): Promise<ProvisionedCluster> {
    const nodes = plannedNodes(spec.ha, spec.workers);
    const addresses = await this.ensureNodes(spec, nodes);
    const firstIp = addresses.get(controlPlaneName(0)) as string;
    await this.initialise(spec, firstIp);
    await this.join(spec, nodes, addresses);
    const kube = await this.waitReady(
      spec.clusterId,
      nodes.map((n) => n.name),
    );
    // The endpoint in the VPC; Nimbus itself goes through the relay of `kubeconfig`.
    return {
      endpoint: `https://${controlPlaneEndpoint(firstIp)}`,
      nodes: this.nodesOf(kube, spec.version),
    };
  }

  async destroy(clusterId: string): Promise<void> {
    for (const node of await this.runtime.nodesOf(clusterId)) {
      await this.runtime.removeNode(this.container(clusterId, node.name));
    }
  }

  async kubeconfig(clusterId: string): Promise<string> {
    const first = this.firstControlPlane(clusterId);
    const admin = await this.run(first, readAdminKubeconfig());
    return externalKubeconfig(admin, await this.runtime.relayedPort(first, API_SERVER_PORT));
  }

  async api(clusterId: string): Promise<KubernetesApi> {
    return this.connect(await this.kubeconfig(clusterId));
  }

  private async controlPlanes(clusterId: string): Promise<string[]> {
    return (await this.runtime.nodesOf(clusterId))
      .filter((n) => n.role === 'control-plane')
      .map((n) => n.name)
      .sort();
  }

  async upgradeControlPlane(clusterId: string, version: string): Promise<void> {
    const names = await this.controlPlanes(clusterId);
    for (const [index, name] of names.entries()) {
      await this.runAll(this.container(clusterId, name), controlPlaneUpgrade(version, index === 0));
    }
  }

  async rollbackControlPlane(clusterId: string, version: string): Promise<void> {
    for (const name of await this.controlPlanes(clusterId)) {
      const container = this.container(clusterId, name);
      const listing = await this.runtime.exec(container, listManifestBackups());
      const backup = listing.exitCode === 0 ? newestManifestBackup(listing.output) : null;
      await this.runAll(container, controlPlaneRollback(version, backup));
    }
  }

  async upgradeKubelet(clusterId: string, node: string, version: string): Promise<void> {
    await this.runAll(this.container(clusterId, node), workerUpgrade(version));
  }

  async scale(spec: ClusterSpec, workers: number): Promise<ClusterNode[]> {
    const existing = (await this.runtime.nodesOf(spec.clusterId)).filter(
      (n) => n.role === 'worker',
    );
    const wanted = plannedNodes(false, workers).filter((n) => n.role === 'worker');
    const addresses = await this.ensureNodes(spec, wanted);
    addresses.set(controlPlaneName(0), await this.firstControlPlaneIp(spec));
    await this.join(spec, wanted, addresses);
    const surplus = existing.filter((n) => !wanted.some((w) => w.name === n.name));
    if (surplus.length > 0) {
      const api = await this.api(spec.clusterId);
      for (const node of surplus) {
        await api.deleteNode(node.name);
        await this.runtime.removeNode(this.container(spec.clusterId, node.name));
      }
    }
    const names = [...plannedNodes(spec.ha, 0), ...wanted].map((n) => n.name);
    return this.nodesOf(await this.waitReady(spec.clusterId, names), spec.version);
  }

  async repair(spec: ClusterSpec): Promise<{ nodes: ClusterNode[]; repaired: string[] }> {
    const nodes = plannedNodes(spec.ha, spec.workers);
    const addresses = await this.ensureNodes(spec, nodes);
    await this.initialise(spec, addresses.get(controlPlaneName(0)) as string);
    let broken: string[];
    try {
      const kube = await (await this.api(spec.clusterId)).listNodes();
      broken = nodes
        .filter((n) => n.name !== controlPlaneName(0))
        .filter((n) => !kube.some((k) => k.name === n.name && k.ready))
        .map((n) => n.name);
    } catch {
      broken = [];
    }
    for (const name of broken) {
      await this.run(this.container(spec.clusterId, name), kubeadmReset());
    }
    await this.join(spec, nodes, addresses);
    const kube = await this.waitReady(
      spec.clusterId,
      nodes.map((n) => n.name),
    );
    return { nodes: this.nodesOf(kube, spec.version), repaired: broken };
  }
}

/** A bootstrap token's part: `[a-z0-9]{length}`, uniformly drawn. */
function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}
