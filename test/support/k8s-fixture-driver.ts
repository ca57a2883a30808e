/**
 * A `ClusterDriver` whose cluster is the Kubernetes-API fixture: the API through the real
 * `KubeClientApi` (client-node), what a driver does to machines (kubeadm upgrade, a new kubelet)
 * through the fixture's `/_fixture/` routes. Usable from a child process given the URL and
 * kubeconfig, which is how the crash test runs it.
 */
import type { ClusterNode } from '../../src/clusters/domain/cluster';
import { KubeClientApi } from '../../src/clusters/drivers/kube-client-api';
import type {
  ClusterDriver,
  ClusterSpec,
  KubernetesApi,
  ProvisionedCluster,
} from '../../src/clusters/ports/kubernetes';

export class FixtureClusterDriver implements ClusterDriver {
  readonly kind = 'fixture';
  readonly nodesInVpc = false;
  readonly etcd = null;
  /** Versions the control plane refuses to go to (a failed `kubeadm upgrade apply`). */
  readonly brokenControlPlaneVersions = new Set<string>();
  private apiClient: Promise<KubeClientApi> | undefined;

  constructor(
    private readonly url: string,
    private readonly config: string,
  ) {}

  private async admin(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.url}/_fixture/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`fixture ${path}: HTTP ${res.status}`);
  }

  private async nodes(): Promise<ClusterNode[]> {
    return (await (await this.api()).listNodes()).map((n) => ({
      name: n.name,
      role: n.role,
      version: n.kubeletVersion ?? 'unknown',
    }));
  }

  async provision(): Promise<ProvisionedCluster> {
    return { endpoint: this.url, nodes: await this.nodes() };
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
  kubeconfig(): Promise<string> {
    return Promise.resolve(this.config);
  }
  api(): Promise<KubernetesApi> {
    this.apiClient ??= KubeClientApi.fromKubeconfig(this.config);
    return this.apiClient;
  }
  async upgradeControlPlane(_clusterId: string, version: string): Promise<void> {
    if (this.brokenControlPlaneVersions.has(version)) {
      throw new Error(`kubeadm upgrade apply ${version}: the API server did not come back`);
    }
    await this.admin('control-plane', { version });
  }
  rollbackControlPlane(_clusterId: string, version: string): Promise<void> {
    return this.admin('control-plane', { version });
  }
  upgradeKubelet(_clusterId: string, node: string, version: string): Promise<void> {
    return this.admin(`nodes/${node}/kubelet`, { version });
  }
  async scale(_spec: ClusterSpec): Promise<ClusterNode[]> {
    return this.nodes();
  }
  async repair(): Promise<{ nodes: ClusterNode[]; repaired: string[] }> {
    return { nodes: await this.nodes(), repaired: [] };
  }
}
