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
import type { SnapshotFacts } from '../domain/backup';
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
  /** Removes a node object (a scale-down, before its machine goes); absent is fine. */
  deleteNode(name: string): Promise<void>;
}

export interface ClusterSpec {
  clusterId: string;
  tenantId: string;
  name: string;
  vpcId: string;
  /** Where the nodes' NICs are (null for a cluster created before placement, or without NICs). */
  subnetId: string | null;
  version: string;
  workers: number;
  ha: boolean;
}

export interface ProvisionedCluster {
  endpoint: string;
  nodes: ClusterNode[];
}

export interface EtcdHealth {
  healthy: boolean;
  version: string | null;
  revision: number | null;
  dbSizeBytes: number | null;
  /** The data directory etcd runs on (`data-0`, `restore-<id>`). */
  dataDir: string | null;
  error: string | null;
}

/**
 * The etcd of a cluster's control plane: health, snapshots (`etcdctl snapshot save`) and restores
 * (`etcdctl snapshot restore` into a fresh data directory, then etcd restarted on it). Data
 * directories are names (`data-0`, `restore-<restoreId>`); the one etcd runs on is `current`.
 */
export interface ControlPlaneEtcd {
  health(clusterId: string): Promise<EtcdHealth>;
  /** Takes (or, after a crash, finds) the snapshot named `backupId`; what it holds. */
  snapshot(clusterId: string, backupId: string): Promise<SnapshotFacts>;
  /** Delete-if-present. */
  removeSnapshot(clusterId: string, backupId: string): Promise<void>;
  /** The data directory etcd runs on. */
  currentDataDir(clusterId: string): Promise<string>;
  /**
   * Checks the snapshot against `expected.sha256`, then restores it into `dataDir` (made afresh;
   * etcd keeps serving its current data meanwhile).
   */
  restoreInto(
    clusterId: string,
    backupId: string,
    expected: SnapshotFacts,
    dataDir: string,
  ): Promise<void>;
  /** Stops etcd, points it at `dataDir` and starts it again. */
  switchTo(clusterId: string, dataDir: string): Promise<void>;
  /** Healthy, at the snapshot's revision, holding its content; rejects saying what differs. */
  verify(clusterId: string, expected: SnapshotFacts): Promise<void>;
  /** Removes a data directory etcd does not run on (delete-if-present). */
  discardDataDir(clusterId: string, dataDir: string): Promise<void>;
}

export interface ClusterDriver {
  /** `simulated` (records in this process) or `kubeadm` (Nimbus instances of a node image). */
  readonly kind: string;
  /**
   * Its nodes are machines with a NIC in a subnet of the cluster's VPC (`ClusterSpec.subnetId`),
   * so a cluster cannot be created in a VPC without a subnet.
   */
  readonly nodesInVpc: boolean;
  /** The control plane's etcd; null when this driver has none (no Docker): backups answer 503. */
  readonly etcd: ControlPlaneEtcd | null;
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
