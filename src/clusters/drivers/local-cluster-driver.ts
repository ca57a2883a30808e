/**
 * The cluster driver of a machine with Docker and no node image: the nodes and the Kubernetes API
 * are the simulated driver's (records in this process), the control plane's etcd is real
 * (`EtcdControlPlane`: a nimbus/etcd:3.4 container per cluster). The cluster's own state is
 * written to its etcd (`/nimbus/cluster/spec` and one `/nimbus/cluster/nodes/<name>` per node) at
 * provisioning, scale and repair, so that a backup holds real content and a restore brings it back.
 */
import type { ClusterNode } from '../domain/cluster';
import type {
  ClusterDriver,
  ClusterSpec,
  KubernetesApi,
  ProvisionedCluster,
} from '../ports/kubernetes';
import type { EtcdControlPlane } from './etcd-control-plane';
import { SimulatedClusterDriver } from './simulated-cluster-driver';

export class LocalClusterDriver implements ClusterDriver {
  readonly kind = 'local';
  readonly nodesInVpc = false;

  constructor(
    readonly etcd: EtcdControlPlane,
    private readonly nodes: SimulatedClusterDriver = new SimulatedClusterDriver(),
  ) {}

  async provision(spec: ClusterSpec): Promise<ProvisionedCluster> {
    await this.etcd.ensure(spec);
    const built = await this.nodes.provision(spec);
    await this.etcd.writeClusterState(spec, built.nodes);
    return built;
  }

  async destroy(clusterId: string): Promise<void> {
    await this.nodes.destroy(clusterId);
    await this.etcd.destroy(clusterId);
  }

  kubeconfig(clusterId: string): Promise<string> {
    return this.nodes.kubeconfig(clusterId);
  }

  api(clusterId: string): Promise<KubernetesApi> {
    return this.nodes.api(clusterId);
  }

  upgradeControlPlane(clusterId: string, version: string): Promise<void> {
    return this.nodes.upgradeControlPlane(clusterId, version);
  }

  rollbackControlPlane(clusterId: string, version: string): Promise<void> {
    return this.nodes.rollbackControlPlane(clusterId, version);
  }

  upgradeKubelet(clusterId: string, node: string, version: string): Promise<void> {
    return this.nodes.upgradeKubelet(clusterId, node, version);
  }

  async scale(spec: ClusterSpec, workers: number): Promise<ClusterNode[]> {
    const nodes = await this.nodes.scale(spec, workers);
    await this.etcd.writeClusterState(spec, nodes);
    return nodes;
  }

  async repair(spec: ClusterSpec): Promise<{ nodes: ClusterNode[]; repaired: string[] }> {
    await this.etcd.ensure(spec);
    const outcome = await this.nodes.repair(spec);
    await this.etcd.writeClusterState(spec, outcome.nodes);
    return outcome;
  }
}
