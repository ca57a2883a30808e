/**
 * `KubernetesApi` on @kubernetes/client-node 1.4: the same code talks to a real cluster
 * (production, and the contract suite with NIMBUS_TEST_KUBECONFIG) and to the Kubernetes-API
 * fixture of the tests. The package is ESM: it is loaded once, on first use.
 */
import type * as K8s from '@kubernetes/client-node';

import type { EvictionOutcome, KubeNode, KubePod, KubernetesApi } from '../ports/kubernetes';

type ClientNode = typeof K8s;
let loaded: Promise<ClientNode> | undefined;
function clientNode(): Promise<ClientNode> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
];

function statusOf(error: unknown): number | null {
  if (typeof error !== 'object' || error === null || !('code' in error)) return null;
  return typeof error.code === 'number' ? error.code : null;
}

export function nodeOf(node: K8s.V1Node): KubeNode {
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  const ready = (node.status?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
  return {
    name: node.metadata?.name ?? '',
    role: CONTROL_PLANE_LABELS.some((l) => l in labels) ? 'control-plane' : 'worker',
    unschedulable: node.spec?.unschedulable === true,
    ready,
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? null,
  };
}

function podOf(pod: K8s.V1Pod): KubePod {
  const owners = pod.metadata?.ownerReferences ?? [];
  const mirror = 'kubernetes.io/config.mirror' in (pod.metadata?.annotations ?? {});
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    drainExempt: mirror || owners.some((o) => o.kind === 'DaemonSet'),
  };
}

export class KubeClientApi implements KubernetesApi {
  private constructor(
    private readonly k8s: ClientNode,
    private readonly core: K8s.CoreV1Api,
    private readonly versionApi: K8s.VersionApi,
  ) {}

  /** From a kubeconfig document (YAML or JSON). */
  static async fromKubeconfig(kubeconfig: string): Promise<KubeClientApi> {
    const k8s = await clientNode();
    const config = new k8s.KubeConfig();
    config.loadFromString(kubeconfig);
    return new KubeClientApi(
      k8s,
      config.makeApiClient(k8s.CoreV1Api),
      config.makeApiClient(k8s.VersionApi),
    );
  }

  async serverVersion(): Promise<string> {
    return (await this.versionApi.getCode()).gitVersion;
  }

  async listNodes(): Promise<KubeNode[]> {
    return (await this.core.listNode()).items.map(nodeOf);
  }

  async getNode(name: string): Promise<KubeNode | null> {
    try {
      return nodeOf(await this.core.readNode({ name }));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async setUnschedulable(name: string, unschedulable: boolean): Promise<{ was: boolean }> {
    const before = await this.core.readNode({ name });
    const was = before.spec?.unschedulable === true;
    if (was !== unschedulable) {
      await this.core.patchNode(
        { name, body: { spec: { unschedulable } } },
        this.k8s.setHeaderOptions('Content-Type', this.k8s.PatchStrategy.MergePatch),
      );
    }
    return { was };
  }

  async podsOn(node: string): Promise<KubePod[]> {
    const list = await this.core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${node}`,
    });
    return list.items
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map(podOf);
  }

  async evict(pod: KubePod): Promise<EvictionOutcome> {
    try {
      await this.core.createNamespacedPodEviction({
        name: pod.name,
        namespace: pod.namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod.name, namespace: pod.namespace },
        },
      });
      return 'evicted';
    } catch (error) {
      const status = statusOf(error);
      if (status === 429) return 'blocked';
      if (status === 404) return 'gone';
      throw error;
    }
  }

  async deletePod(pod: KubePod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async deleteNode(name: string): Promise<void> {
    try {
      await this.core.deleteNode({ name });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
