/**
 * The etcd of a kubeadm cluster, planned without I/O: every command as an argument array, run in
 * a control-plane node with `docker exec`. The few steps that need a condition are fixed `sh -c`
 * scripts whose inputs are positional arguments, never text spliced into the script.
 *
 * kubeadm runs etcd as a static pod on every control-plane node: its manifest is
 * `/etc/kubernetes/manifests/etcd.yaml`, its data `/var/lib/etcd`, its clients
 * `https://127.0.0.1:2379` with certificates of the etcd CA (`/etc/kubernetes/pki/etcd`). Nimbus
 * is one of those clients, as kubeadm's healthcheck client, with the node image's `etcdctl`.
 *
 *   - A snapshot (`etcdctl snapshot save`) is written on control-plane-0, in
 *     `/var/lib/nimbus-etcd/backups/<backupId>.db`.
 *   - A restore writes a fresh data directory, `/var/lib/nimbus-etcd/<dataDir>`, on every control
 *     plane (`etcdutl snapshot restore`; etcd 3.4's etcdctl where there is no etcdutl), each
 *     member under its own name and peer URL, read from its manifest, all in one new cluster.
 *   - The switch holds the control plane's static pods (their manifests moved out of the
 *     kubelet's sight, so it stops them: an API server must not watch etcd go back in time), points
 *     `/var/lib/etcd` at the restored directory and puts the manifests back. `/var/lib/etcd` stays
 *     the data directory kubeadm knows (a `kubeadm upgrade` writes it into the manifest again); the
 *     first switch moves kubeadm's own directory to `data-0` and makes `/var/lib/etcd` a symbolic
 *     link, swapped atomically (`ln -sfn`, then `mv -T`) on every later one.
 */
import { parse as parseYaml } from 'yaml';

import { checkDataDir } from './etcd-common';

export const ETCD_DATA = '/var/lib/etcd';
export const NIMBUS_ETCD_ROOT = '/var/lib/nimbus-etcd';
export const SNAPSHOT_DIR = `${NIMBUS_ETCD_ROOT}/backups`;
export const STATIC_POD_DIR = '/etc/kubernetes/manifests';
/** Where held manifests wait: outside the directory the kubelet watches. */
export const HELD_POD_DIR = '/etc/kubernetes/nimbus-held';
export const ETCD_MANIFEST = 'etcd.yaml';
/** The control plane's static pods, stopped together for a switch. */
export const CONTROL_PLANE_PODS = [
  ETCD_MANIFEST,
  'kube-apiserver.yaml',
  'kube-controller-manager.yaml',
  'kube-scheduler.yaml',
] as const;
/** The processes a switch waits to be gone (as `/proc/<pid>/comm` names them). */
export const STOPPED_BEFORE_SWITCH = ['etcd', 'kube-apiserver'] as const;
const PKI = '/etc/kubernetes/pki/etcd';

export function snapshotFile(backupId: string): string {
  return `${SNAPSHOT_DIR}/${backupId}.db`;
}

/** etcdctl against the node's own member, as kubeadm's healthcheck client. */
export function etcdctl(args: string[], commandTimeout = '15s'): string[] {
  return [
    'etcdctl',
    '--endpoints=https://127.0.0.1:2379',
    `--cacert=${PKI}/ca.crt`,
    `--cert=${PKI}/healthcheck-client.crt`,
    `--key=${PKI}/healthcheck-client.key`,
    '--dial-timeout=3s',
    `--command-timeout=${commandTimeout}`,
    ...args,
  ];
}

/** The offline tool (`snapshot status`, `snapshot restore`): etcdutl, or etcd 3.4's etcdctl. */
export function etcdutl(args: string[]): string[] {
  return [
    'sh',
    '-c',
    'if command -v etcdutl > /dev/null 2>&1; then exec etcdutl "$@"; fi; exec etcdctl "$@"',
    'etcdutl',
    ...args,
  ];
}

export function snapshotSave(backupId: string): string[] {
  return etcdctl(['snapshot', 'save', snapshotFile(backupId)], '10m');
}

/**
 * SHA-256 of every key and value at `revision` (etcdctl's plain output), computed in the node:
 * a cluster's etcd can hold far more than is worth carrying out through `docker exec`.
 */
export function contentDigest(revision: number): string[] {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw new Error(`${revision} is not an etcd revision`);
  }
  return [
    'sh',
    '-c',
    'f=$(mktemp) || exit 1; if "$@" > "$f"; then sha256sum < "$f"; s=$?; else s=$?; fi; rm -f "$f"; exit $s',
    'digest',
    ...etcdctl(['get', '', '--from-key', `--rev=${revision}`], '5m'),
  ];
}

/** The name of the data directory etcd runs on: `data-0` until the first restore's switch. */
export function currentDataDirOf(): string[] {
  return [
    'sh',
    '-c',
    'if [ -L "$1" ]; then t=$(readlink "$1") || exit 1; basename "$t"; else echo data-0; fi',
    'data-dir',
    ETCD_DATA,
  ];
}

/** Moves each named manifest present in `from` to `to` (hold: out of the kubelet's sight; release: back). */
function moveManifests(from: string, to: string): string[] {
  return [
    'sh',
    '-c',
    'from=$1 to=$2; shift 2; mkdir -p "$to" || exit 1; for f in "$@"; do if [ -e "$from/$f" ]; then mv -f "$from/$f" "$to/$f" || exit 1; fi; done',
    'manifests',
    from,
    to,
    ...CONTROL_PLANE_PODS,
  ];
}

export function holdControlPlane(): string[] {
  return moveManifests(STATIC_POD_DIR, HELD_POD_DIR);
}

export function releaseControlPlane(): string[] {
  return moveManifests(HELD_POD_DIR, STATIC_POD_DIR);
}

/** Exits 0 (printing the name) while a process of `STOPPED_BEFORE_SWITCH` runs in the node. */
export function controlPlaneRunning(): string[] {
  return [
    'sh',
    '-c',
    'for f in /proc/[0-9]*/comm; do read -r c 2> /dev/null < "$f" || continue; for n in "$@"; do if [ "$c" = "$n" ]; then echo "$c"; exit 0; fi; done; done; exit 1',
    'running',
    ...STOPPED_BEFORE_SWITCH,
  ];
}

/** The etcd manifest, wherever it is now (held during a switch). */
export function readEtcdManifest(): string[] {
  return [
    'sh',
    '-c',
    'cat "$1" 2> /dev/null || cat "$2"',
    'manifest',
    `${STATIC_POD_DIR}/${ETCD_MANIFEST}`,
    `${HELD_POD_DIR}/${ETCD_MANIFEST}`,
  ];
}

/**
 * Points `/var/lib/etcd` at `<root>/<dataDir>` (etcd stopped): kubeadm's own directory becomes
 * `data-0` first, then the link is swapped atomically. A repeat converges: a crash between the
 * move and the link leaves no `/var/lib/etcd`, and the link is made.
 */
export function pointEtcdAt(dataDir: string): string[] {
  checkDataDir(dataDir);
  return [
    'sh',
    '-c',
    [
      'root=$1 data=$2 target=$3',
      'if [ -d "$data" ] && [ ! -L "$data" ]; then',
      '  if [ -e "$root/data-0" ]; then echo "$root/data-0 exists beside the data directory $data" >&2; exit 1; fi',
      '  mkdir -p "$root" && mv "$data" "$root/data-0" || exit 1',
      'fi',
      'if [ ! -d "$root/$target/member" ]; then echo "$root/$target holds no etcd member" >&2; exit 1; fi',
      'ln -sfn "$root/$target" "$data.next" && mv -T "$data.next" "$data"',
    ].join('\n'),
    'point',
    NIMBUS_ETCD_ROOT,
    ETCD_DATA,
    dataDir,
  ];
}

export interface EtcdMember {
  name: string;
  /** `--initial-advertise-peer-urls`: one URL or several, comma-separated. */
  peerUrls: string[];
}

/** The member a control plane's etcd manifest runs: its `--name` and peer URLs. */
export function etcdMember(manifest: string): EtcdMember {
  const doc = parseYaml(manifest) as {
    spec?: { containers?: { name?: string; command?: unknown }[] };
  } | null;
  const containers = doc?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === 'etcd') ?? containers[0];
  const command = Array.isArray(container?.command) ? (container.command as unknown[]) : [];
  const flag = (name: string): string | undefined => {
    for (const arg of command) {
      if (typeof arg === 'string' && arg.startsWith(`--${name}=`)) {
        return arg.slice(name.length + 3);
      }
    }
    return undefined;
  };
  const name = flag('name');
  const peers = flag('initial-advertise-peer-urls');
  if (!name || !peers) {
    throw new Error('the etcd manifest has no --name or no --initial-advertise-peer-urls');
  }
  return { name, peerUrls: peers.split(',').filter((u) => u.length > 0) };
}

/** `--initial-cluster` of a restore: every member, under its name, at each of its peer URLs. */
export function initialCluster(members: readonly EtcdMember[]): string {
  const names = new Set(members.map((m) => m.name));
  if (names.size !== members.length) throw new Error('two etcd members have one name');
  return members.flatMap((m) => m.peerUrls.map((url) => `${m.name}=${url}`)).join(',');
}

/** Restores a snapshot into `<root>/<dataDir>`, as `member` of a cluster of `members`. */
export function snapshotRestore(
  backupId: string,
  dataDir: string,
  member: EtcdMember,
  members: readonly EtcdMember[],
): string[] {
  checkDataDir(dataDir);
  return etcdutl([
    'snapshot',
    'restore',
    snapshotFile(backupId),
    `--data-dir=${NIMBUS_ETCD_ROOT}/${dataDir}`,
    `--name=${member.name}`,
    `--initial-cluster=${initialCluster(members)}`,
    `--initial-advertise-peer-urls=${member.peerUrls.join(',')}`,
  ]);
}
