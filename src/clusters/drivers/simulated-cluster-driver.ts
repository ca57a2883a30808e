/**
 * The cluster driver of a machine without a node image (NIMBUS_K8S_NODE_IMAGE unset): a cluster is
 * a set of node records in this process, served through the same `KubernetesApi` port as a real
 * one. Nodes are Ready at once, carry no pods, and report the kubelet version they were last
 * given. State lives in memory: after a restart a simulated cluster's API is unreachable (its
 * health says so) until it is repaired. Nothing here pretends to run Kubernetes.
 */
import { randomBytes } from 'node:crypto';

import { controlPlaneCount, type ClusterNode } from '../domain/cluster';
import type {
  ClusterDriver,
  ControlPlaneEtcd,
  ClusterSpec,
  EvictionOutcome,
  KubeNode,
  KubePod,
  KubernetesApi,
  ProvisionedCluster,
} from '../ports/kubernetes';

interface SimulatedCluster {
  spec: ClusterSpec;
  token: string;
  controlPlaneVersion: string;
  nodes: Map<string, KubeNode>;
}

function workerName(index: number): string {
  return `worker-${index}`;
}

class SimulatedApi implements KubernetesApi {
  constructor(private readonly cluster: SimulatedCluster) {}

  serverVersion(): Promise<string> {
    return Promise.resolve(this.cluster.controlPlaneVersion);
  }
  listNodes(): Promise<KubeNode[]> {
    return Promise.resolve([...this.cluster.nodes.values()].map((n) => ({ ...n })));
  }
  getNode(name: string): Promise<KubeNode | null> {
    const node = this.cluster.nodes.get(name);
    return Promise.resolve(node ? { ...node } : null);
  }
  setUnschedulable(name: string, unschedulable: boolean): Promise<{ was: boolean }> {
    const node = this.cluster.nodes.get(name);
    if (!node) return Promise.reject(new Error(`node ${name} not found`));
    const was = node.unschedulable;
    node.unschedulable = unschedulable;
    return Promise.resolve({ was });
  }
  podsOn(): Promise<KubePod[]> {
    return Promise.resolve([]);
  }
  evict(): Promise<EvictionOutcome> {
    return Promise.resolve('gone');
  }
  deletePod(): Promise<void> {
    return Promise.resolve();
  }
  deleteNode(name: string): Promise<void> {
    this.cluster.nodes.delete(name);
    return Promise.resolve();
  }
}

export class SimulatedClusterDriver implements ClusterDriver {
  readonly kind: string = 'simulated';
  readonly nodesInVpc: boolean = false;
  readonly etcd: ControlPlaneEtcd | null = null;
  private readonly clusters = new Map<string, SimulatedCluster>();

  private nodesOf(cluster: SimulatedCluster): ClusterNode[] {
    return [...cluster.nodes.values()].map((n) => ({
      name: n.name,
      role: n.role,
      version: n.kubeletVersion ?? cluster.controlPlaneVersion,
    }));
  }

  private cluster(clusterId: string): SimulatedCluster {
    const cluster = this.clusters.get(clusterId);
    if (!cluster) throw new Error(`cluster ${clusterId} is not running in this process`);
    return cluster;
  }

  private addNode(cluster: SimulatedCluster, name: string, role: KubeNode['role']): void {
    cluster.nodes.set(name, {
      name,
      role,
      unschedulable: false,
      ready: true,
      kubeletVersion: cluster.controlPlaneVersion,
    });
  }

  provision(spec: ClusterSpec): Promise<ProvisionedCluster> {
    let cluster = this.clusters.get(spec.clusterId);
    if (!cluster) {
      cluster = {
        spec,
        token: randomBytes(24).toString('base64url'),
        controlPlaneVersion: spec.version,
        nodes: new Map(),
      };
      for (let i = 0; i < controlPlaneCount(spec.ha); i++) {
        this.addNode(cluster, `control-plane-${i}`, 'control-plane');
      }
      for (let i = 0; i < spec.workers; i++) this.addNode(cluster, workerName(i), 'worker');
      this.clusters.set(spec.clusterId, cluster);
    }
    return Promise.resolve({
      endpoint: this.endpoint(spec.clusterId),
      nodes: this.nodesOf(cluster),
    });
  }

  private endpoint(clusterId: string): string {
    return `https://${clusterId}.simulated.invalid:6443`;
  }

  destroy(clusterId: string): Promise<void> {
    this.clusters.delete(clusterId);
    return Promise.resolve();
  }

  kubeconfig(clusterId: string): Promise<string> {
    const cluster = this.cluster(clusterId);
    const name = cluster.spec.name;
    return Promise.resolve(
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters:\n- name: ${name}\n  cluster:\n    server: ${this.endpoint(clusterId)}`,
        `users:\n- name: ${name}-admin\n  user:\n    token: ${cluster.token}`,
        `contexts:\n- name: ${name}\n  context:\n    cluster: ${name}\n    user: ${name}-admin`,
        `current-context: ${name}`,
        '',
      ].join('\n'),
    );
  }

  api(clusterId: string): Promise<KubernetesApi> {
    return Promise.resolve(new SimulatedApi(this.cluster(clusterId)));
  }

  upgradeControlPlane(clusterId: string, version: string): Promise<void> {
    const cluster = this.cluster(clusterId);
    cluster.controlPlaneVersion = version;
    for (const node of cluster.nodes.values()) {
      if (node.role === 'control-plane') node.kubeletVersion = version;
    }
    return Promise.resolve();
  }

  rollbackControlPlane(clusterId: string, version: string): Promise<void> {
    return this.upgradeControlPlane(clusterId, version);
  }

  upgradeKubelet(clusterId: string, node: string, version: string): Promise<void> {
    const found = this.cluster(clusterId).nodes.get(node);
    if (!found) return Promise.reject(new Error(`node ${node} not found`));
    found.kubeletVersion = version;
    return Promise.resolve();
  }

  scale(spec: ClusterSpec, workers: number): Promise<ClusterNode[]> {
    const cluster = this.cluster(spec.clusterId);
    const current = [...cluster.nodes.values()].filter((n) => n.role === 'worker');
    for (let i = current.length; i < workers; i++) this.addNode(cluster, workerName(i), 'worker');
    for (let i = current.length - 1; i >= workers; i--) cluster.nodes.delete(workerName(i));
    return Promise.resolve(this.nodesOf(cluster));
  }

  async repair(spec: ClusterSpec): Promise<{ nodes: ClusterNode[]; repaired: string[] }> {
    if (!this.clusters.has(spec.clusterId)) {
      const { nodes } = await this.provision(spec);
      return { nodes, repaired: nodes.map((n) => n.name) };
    }
    const cluster = this.cluster(spec.clusterId);
    const repaired: string[] = [];
    for (const node of cluster.nodes.values()) {
      if (!node.ready) {
        node.ready = true;
        repaired.push(node.name);
      }
    }
    return { nodes: this.nodesOf(cluster), repaired };
  }
}
