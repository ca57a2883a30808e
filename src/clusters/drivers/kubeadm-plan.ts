/**
 * What the kubeadm driver runs, planned without I/O: node and container names, and every command
 * line as an argument array (run with `docker exec`, never through a shell of the host).
 *
 * The node image (`NIMBUS_K8S_NODE_IMAGE`, supplied by the operator) must hold:
 *   - systemd as PID 1, a container runtime (containerd) and `kubelet.service`, as kind's images do;
 *   - for every version Nimbus offers, `/opt/nimbus/k8s/<version>/{kubeadm,kubelet}`: a node is
 *     bootstrapped or upgraded by installing that version's binaries into `/usr/bin` first;
 *   - `etcdctl` (and `etcdutl` from etcd 3.5 on) for the etcd backups (`kubeadm-etcd-plan.ts`).
 */
import { createHash, X509Certificate } from 'node:crypto';

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { controlPlaneCount } from '../domain/cluster';

/** The API server's port inside a control-plane node. */
export const API_SERVER_PORT = 6443;
export const POD_SUBNET = '10.244.0.0/16';
export const SERVICE_SUBNET = '10.96.0.0/12';
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
const CA_CERT = '/etc/kubernetes/pki/ca.crt';
/** Where kubeadm keeps the static-pod manifests it replaced during an upgrade. */
const MANIFEST_BACKUPS = '/etc/kubernetes/tmp';
/** Checks a container cannot pass (no kernel modules to load, swap of the host, ...), as kind skips. */
const IGNORED_PREFLIGHT = [
  'SystemVerification',
  'Swap',
  'FileContent--proc-sys-net-bridge-bridge-nf-call-iptables',
].join(',');

export interface PlannedNode {
  name: string;
  role: 'control-plane' | 'worker';
}

export function controlPlaneName(index: number): string {
  return `control-plane-${index}`;
}

export function workerName(index: number): string {
  return `worker-${index}`;
}

/** The nodes of a cluster: control planes first (1, or 3 with `ha`), then the workers. */
export function plannedNodes(ha: boolean, workers: number): PlannedNode[] {
  const nodes: PlannedNode[] = [];
  for (let i = 0; i < controlPlaneCount(ha); i++) {
    nodes.push({ name: controlPlaneName(i), role: 'control-plane' });
  }
  for (let i = 0; i < workers; i++) nodes.push({ name: workerName(i), role: 'worker' });
  return nodes;
}

export function nodeContainerName(clusterId: string, node: string): string {
  return `nimbus-cluster-${clusterId}-${node}`;
}

/** `cp /opt/nimbus/k8s/<version>/<binary> /usr/bin/<binary>` for each binary. */
export function installBinaries(version: string, binaries: readonly ('kubeadm' | 'kubelet')[]) {
  if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`${version} is not a version`);
  return binaries.map((b) => ['cp', '-f', `/opt/nimbus/k8s/${version}/${b}`, `/usr/bin/${b}`]);
}

/** `<address>:6443`: the first control plane's API server in the VPC, what every node joins. */
export function controlPlaneEndpoint(firstControlPlaneIp: string): string {
  return `${firstControlPlaneIp}:${API_SERVER_PORT}`;
}

export interface InitPlan {
  version: string;
  /** The first control-plane node's address in the VPC: its API server advertises it. */
  advertiseAddress: string;
  /** `controlPlaneEndpoint(advertiseAddress)`, what every node joins. */
  controlPlaneEndpoint: string;
  /** A bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
  token: string;
  /** 64 hex digits: encrypts the control-plane certificates kubeadm uploads for HA joins. */
  certificateKey: string;
}

/** `kubeadm init` on the first control-plane node. */
export function kubeadmInit(plan: InitPlan): string[] {
  return [
    'kubeadm',
    'init',
    `--kubernetes-version=${plan.version}`,
    `--control-plane-endpoint=${plan.controlPlaneEndpoint}`,
    `--apiserver-advertise-address=${plan.advertiseAddress}`,
    // Nimbus reaches the API server through a relay on 127.0.0.1 (to the node's own loopback).
    '--apiserver-cert-extra-sans=127.0.0.1,localhost',
    `--pod-network-cidr=${POD_SUBNET}`,
    `--service-cidr=${SERVICE_SUBNET}`,
    `--token=${plan.token}`,
    '--token-ttl=2h',
    '--upload-certs',
    `--certificate-key=${plan.certificateKey}`,
    `--ignore-preflight-errors=${IGNORED_PREFLIGHT}`,
  ];
}

export interface JoinPlan {
  controlPlaneEndpoint: string;
  token: string;
  /** `sha256:<hex>` of the cluster CA's public key (`discoveryHash`). */
  caCertHash: string;
  /** Set for a control-plane node (HA): it takes the uploaded certificates... */
  certificateKey?: string;
  /** ...and advertises its own address in the VPC. */
  advertiseAddress?: string;
}

/** `kubeadm join` of a worker, or of another control-plane node. */
export function kubeadmJoin(plan: JoinPlan): string[] {
  return [
    'kubeadm',
    'join',
    plan.controlPlaneEndpoint,
    `--token=${plan.token}`,
    `--discovery-token-ca-cert-hash=${plan.caCertHash}`,
    ...(plan.certificateKey
      ? [
          '--control-plane',
          `--certificate-key=${plan.certificateKey}`,
          ...(plan.advertiseAddress
            ? [`--apiserver-advertise-address=${plan.advertiseAddress}`]
            : []),
        ]
      : []),
    `--ignore-preflight-errors=${IGNORED_PREFLIGHT}`,
  ];
}

/** A fresh bootstrap token for joins after init (scale, repair). */
export function kubeadmTokenCreate(): string[] {
  return ['kubeadm', 'token', 'create', '--ttl=30m'];
}

/** Undoes a node's bootstrap before it joins again (repair). */
export function kubeadmReset(): string[] {
  return ['kubeadm', 'reset', '--force'];
}

/**
 * The control plane's upgrade: `kubeadm upgrade apply` on the first control-plane node,
 * `kubeadm upgrade node` on the others, each after installing the target's kubeadm; then the
 * kubelet of the target on every control-plane node, restarted.
 */
export function controlPlaneUpgrade(version: string, first: boolean): string[][] {
  return [
    ...installBinaries(version, ['kubeadm']),
    first
      ? ['kubeadm', 'upgrade', 'apply', version, '--yes', '--certificate-renewal=false']
      : ['kubeadm', 'upgrade', 'node', '--certificate-renewal=false'],
    ...kubeletSwap(version),
  ];
}

/** A worker's upgrade: its kubeadm and node configuration, then the kubelet, restarted. */
export function workerUpgrade(version: string): string[][] {
  return [
    ...installBinaries(version, ['kubeadm']),
    ['kubeadm', 'upgrade', 'node'],
    ...kubeletSwap(version),
  ];
}

function kubeletSwap(version: string): string[][] {
  return [
    ['systemctl', 'stop', 'kubelet'],
    ...installBinaries(version, ['kubelet']),
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'start', 'kubelet'],
  ];
}

/**
 * Back to `version` after a failed control-plane upgrade on one node: the static-pod manifests
 * kubeadm saved before replacing them (its newest `kubeadm-backup-manifests-*` directory) put
 * back, and that version's kubeadm and kubelet. The directory is found by `ls`, then copied with
 * its name as an argument, not interpolated into a script.
 */
export function listManifestBackups(): string[] {
  return ['ls', '-1', MANIFEST_BACKUPS];
}

export function newestManifestBackup(listing: string): string | null {
  const dirs = listing
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^kubeadm-backup-manifests-[0-9A-Za-z_-]+$/.test(l))
    .sort();
  const newest = dirs.at(-1);
  return newest ? `${MANIFEST_BACKUPS}/${newest}` : null;
}

export function controlPlaneRollback(version: string, backupDir: string | null): string[][] {
  return [
    ...installBinaries(version, ['kubeadm']),
    ...(backupDir
      ? [
          [
            'find',
            backupDir,
            '-name',
            '*.yaml',
            '-exec',
            'cp',
            '-f',
            '{}',
            '/etc/kubernetes/manifests/',
            ';',
          ],
        ]
      : []),
    ...kubeletSwap(version),
  ];
}

export function readCaCert(): string[] {
  return ['cat', CA_CERT];
}

export function readAdminKubeconfig(): string[] {
  return ['cat', ADMIN_KUBECONFIG];
}

/**
 * `--discovery-token-ca-cert-hash`: SHA-256 of the CA certificate's Subject Public Key Info (DER),
 * what `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` prints.
 */
export function discoveryHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * The admin kubeconfig kubeadm wrote, pointed at the relay on 127.0.0.1 (inside, it names the
 * first control plane's address in the VPC, which the host has no route to).
 */
export function externalKubeconfig(adminConf: string, hostPort: number): string {
  const doc: unknown = parseYaml(adminConf);
  const clusters = (doc as { clusters?: unknown }).clusters;
  if (!Array.isArray(clusters) || clusters.length === 0) {
    throw new Error('the admin kubeconfig names no cluster');
  }
  for (const entry of clusters as { cluster?: { server?: string } }[]) {
    if (!entry.cluster) throw new Error('the admin kubeconfig has a cluster without a server');
    entry.cluster.server = `https://127.0.0.1:${hostPort}`;
  }
  return stringifyYaml(doc);
}
