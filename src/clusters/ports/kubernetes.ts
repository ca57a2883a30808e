/**
 * What the clusters context and its sagas need from a Kubernetes cluster and from whatever runs
 * it. Framework-free: the module binds `CLUSTER_DRIVER`; the sagas receive it as a port.
 *
 * `KubernetesApi` is the subset of the Kubernetes API the upgrade uses (nodes, pods, the
 * Eviction API, node conditions, kubeletVersion, cordon through `spec.unschedulable`);
 * `KubeClientApi` (drivers/kube-client-api.ts) implements it on @kubernetes/client-node.
 * `ClusterDriver` is what provisions and upgrades the machines: every call is idempotent, named
 * by the cluster id, so a saga step that runs again after a crash converges.
 */
import type { ClusterNode } from '../domain/cluster';

export interface KubeNode {
  name: string;
  role: 'control-plane' | 'worker';
  unschedulable: boolean;
  /** The node's Ready condition is True. */
  ready: boolean;
  kubeletVersion: string | null;
}

export interface KubePod {
  namespace: string;
  name: string;
  /** Owned by a DaemonSet, or a mirror (static) pod: a drain leaves these, as kubectl does. */
  drainExempt: boolean;
}

/** 'blocked': the API answered 429 (a PodDisruptionBudget allows no disruption now). */
export type EvictionOutcome = 'evicted' | 'blocked' | 'gone';

export interface KubernetesApi {
  /** The API server's gitVersion (`GET /version`). */
  serverVersion(): Promise<string>;
  listNodes(): Promise<KubeNode[]>;
  /** null when the node does not exist. */
  getNode(name: string): Promise<KubeNode | null>;
  /** Sets `spec.unschedulable`; answers what it was before. */
  setUnschedulable(name: string, unschedulable: boolean): Promise<{ was: boolean }>;
  podsOn(node: string): Promise<KubePod[]>;
  /** Through the Eviction API (`pods/eviction`), which honours PodDisruptionBudgets. */
  evict(pod: KubePod): Promise<EvictionOutcome>;
  /** A forced drain: deletes the pod, bypassing its budget. */
  deletePod(pod: KubePod): Promise<void>;
}

export interface ClusterSpec {
  clusterId: string;
  tenantId: string;
  name: string;
  vpcId: string;
  version: string;
  workers: number;
  ha: boolean;
}

export interface ProvisionedCluster {
  endpoint: string;
  nodes: ClusterNode[];
}

export interface ClusterDriver {
  /** `simulated` (records in this process) or `kubeadm` (Nimbus instances of a node image). */
  readonly kind: string;
  provision(spec: ClusterSpec): Promise<ProvisionedCluster>;
  destroy(clusterId: string): Promise<void>;
  /** The admin kubeconfig; read from the cluster each time, never stored by Nimbus. */
  kubeconfig(clusterId: string): Promise<string>;
  api(clusterId: string): Promise<KubernetesApi>;
  /** `kubeadm upgrade apply` on the first control-plane node, `upgrade node` on the others. */
  upgradeControlPlane(clusterId: string, version: string): Promise<void>;
  /** Back to `version` after a failed control-plane upgrade. */
  rollbackControlPlane(clusterId: string, version: string): Promise<void>;
  /** Replaces a worker's kubelet with `version` and restarts it (`kubeadm upgrade node`). */
  upgradeKubelet(clusterId: string, node: string, version: string): Promise<void>;
  /** Adds or removes workers until there are `workers`; the nodes after. */
  scale(spec: ClusterSpec, workers: number): Promise<ClusterNode[]>;
  /** Re-runs the bootstrap (`kubeadm join`) on nodes that are not Ready. */
  repair(spec: ClusterSpec): Promise<{ nodes: ClusterNode[]; repaired: string[] }>;
}

export const CLUSTER_DRIVER = Symbol('CLUSTER_DRIVER');
