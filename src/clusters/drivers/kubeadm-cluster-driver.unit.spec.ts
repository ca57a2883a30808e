/**
 * The kubeadm driver's plans and its order of work, without I/O: the node runtime is a fake that
 * records every command a node would run and answers as a node that has (or has not) been
 * bootstrapped would; the Kubernetes API is a fake whose nodes are Ready once joined.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import type { KubeNode, KubernetesApi } from '../ports/kubernetes';
import type { ExecResult, NodeContainerSpec, NodeRuntime } from './docker-node-runtime';
import { KubeadmClusterDriver } from './kubeadm-cluster-driver';
import {
  controlPlaneEndpoint,
  controlPlaneUpgrade,
  discoveryHash,
  externalKubeconfig,
  kubeadmInit,
  kubeadmJoin,
  newestManifestBackup,
  plannedNodes,
  workerUpgrade,
  type PlannedNode,
} from './kubeadm-plan';

const CLUSTER = '7c0f9e52-3c1b-4c3e-9a55-0d9f3b1f6a10';
const TENANT = '5e1f4a3e-0000-4000-8000-000000000001';
/** A self-signed CA; the hash is what `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` printed. */
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBfjCCASWgAwIBAgIUci5rkf7Ge/ISmjhlmLB7fsLdb70wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjEyMDMyMzM1MTJaFw0zNjExMzAy
MzM1MTJaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQjoO60wsBksjOKbPiZsFApUsBNeYQRj6fr+8mHAJ00zntxnMofJm/E
xqteTHNkdVU7vQSC0KID3v31jlicmoCzo1MwUTAdBgNVHQ4EFgQUI1cB/z+2x9Sx
lbnQbC7o44kiUrwwHwYDVR0jBBgwFoAUI1cB/z+2x9SxlbnQbC7o44kiUrwwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiACXlWdzXNiHPO4h8xVK5cb
ZuOJj7S4yp8017vvFWswswIgZO2DvZ4ZB+4640S3IJ6lQJ+o4dNHlkyx7zng6HBg
hBM=
-----END CERTIFICATE-----
`;
const CA_HASH = 'sha256:23746df1ed325741ede3c3a5f3f229751686550b87482559f40a2a40d008a7dd';
const ADMIN_CONF = `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    certificate-authority-data: Q0E=
    server: https://control-plane-0:6443
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
contexts:
- name: kubernetes-admin@kubernetes
  context:
    cluster: kubernetes
    user: kubernetes-admin
current-context: kubernetes-admin@kubernetes
`;

describe('kubeadm plans', () => {
  it('plans control planes first (3 with ha), then the workers', () => {
    expect(plannedNodes(true, 2)).toEqual([
      { name: 'control-plane-0', role: 'control-plane' },
      { name: 'control-plane-1', role: 'control-plane' },
      { name: 'control-plane-2', role: 'control-plane' },
      { name: 'worker-0', role: 'worker' },
      { name: 'worker-1', role: 'worker' },
    ]);
    expect(plannedNodes(false, 0)).toEqual([{ name: 'control-plane-0', role: 'control-plane' }]);
  });

  it('inits with the version, its VPC address as the shared endpoint, SANs for 127.0.0.1 and uploaded certificates', () => {
    const args = kubeadmInit({
      version: 'v1.30.6',
      advertiseAddress: '10.0.1.10',
      controlPlaneEndpoint: controlPlaneEndpoint('10.0.1.10'),
      token: 'abcdef.0123456789abcdef',
      certificateKey: 'f'.repeat(64),
    });
    expect(args.slice(0, 2)).toEqual(['kubeadm', 'init']);
    expect(args).toContain('--kubernetes-version=v1.30.6');
    expect(args).toContain('--control-plane-endpoint=10.0.1.10:6443');
    expect(args).toContain('--apiserver-advertise-address=10.0.1.10');
    expect(args).toContain('--apiserver-cert-extra-sans=127.0.0.1,localhost');
    expect(args).toContain('--upload-certs');
    expect(args).toContain(`--certificate-key=${'f'.repeat(64)}`);
  });

  it('joins a worker with the CA hash, and a control plane with the certificate key too', () => {
    const base = {
      controlPlaneEndpoint: '10.0.1.10:6443',
      token: 'abcdef.0123456789abcdef',
      caCertHash: CA_HASH,
    };
    const worker = kubeadmJoin(base);
    expect(worker.slice(0, 3)).toEqual(['kubeadm', 'join', '10.0.1.10:6443']);
    expect(worker).toContain(`--discovery-token-ca-cert-hash=${CA_HASH}`);
    expect(worker).not.toContain('--control-plane');
    expect(worker.some((a) => a.startsWith('--apiserver-advertise-address'))).toBe(false);
    expect(
      kubeadmJoin({ ...base, certificateKey: 'a'.repeat(64), advertiseAddress: '10.0.1.11' }),
    ).toEqual(
      expect.arrayContaining([
        '--control-plane',
        `--certificate-key=${'a'.repeat(64)}`,
        '--apiserver-advertise-address=10.0.1.11',
      ]),
    );
  });

  it("computes the discovery hash of the CA's public key as openssl does", () => {
    expect(discoveryHash(CA_PEM)).toBe(CA_HASH);
  });

  it('upgrades the first control plane with apply, the others with upgrade node, kubeadm before, kubelet after', () => {
    const first = controlPlaneUpgrade('v1.31.2', true);
    expect(first[0]).toEqual(['cp', '-f', '/opt/nimbus/k8s/v1.31.2/kubeadm', '/usr/bin/kubeadm']);
    expect(first[1]?.slice(0, 4)).toEqual(['kubeadm', 'upgrade', 'apply', 'v1.31.2']);
    expect(first.slice(2)).toEqual([
      ['systemctl', 'stop', 'kubelet'],
      ['cp', '-f', '/opt/nimbus/k8s/v1.31.2/kubelet', '/usr/bin/kubelet'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'start', 'kubelet'],
    ]);
    expect(controlPlaneUpgrade('v1.31.2', false)[1]?.slice(0, 3)).toEqual([
      'kubeadm',
      'upgrade',
      'node',
    ]);
    expect(workerUpgrade('v1.31.2')[1]).toEqual(['kubeadm', 'upgrade', 'node']);
    expect(() => workerUpgrade('v1.31.2; rm -rf /')).toThrow(/is not a version/);
  });

  it('rolls back from the newest manifest backup kubeadm left', () => {
    expect(
      newestManifestBackup(
        'kubeadm-backup-etcd-2026-12-01-10-00-00\nkubeadm-backup-manifests-2026-12-01-10-00-00\nkubeadm-backup-manifests-2026-12-02-09-30-00\n',
      ),
    ).toBe('/etc/kubernetes/tmp/kubeadm-backup-manifests-2026-12-02-09-30-00');
    expect(newestManifestBackup('')).toBeNull();
  });

  it("points the admin kubeconfig at the API server's relay on 127.0.0.1, keeping its credentials", () => {
    const external = parseYaml(externalKubeconfig(ADMIN_CONF, 41234)) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: Record<string, string> }[];
    };
    expect(external.clusters[0]?.cluster.server).toBe('https://127.0.0.1:41234');
    expect(external.clusters[0]?.cluster['certificate-authority-data']).toBe('Q0E=');
    expect(external.users[0]?.user['client-key-data']).toBe('S0VZ');
    expect(() => externalKubeconfig('apiVersion: v1\n', 1)).toThrow(/names no cluster/);
  });
});

/**
 * Given: machines that remember which nodes were initialised or joined, the commands run, and
 * the address each node's NIC got in the subnet (control-plane-0 10.0.1.10, then in order made).
 */
function given() {
  const containers = new Map<string, PlannedNode>();
  const addresses = new Map<string, string>();
  const bootstrapped = new Set<string>();
  const runs: string[] = [];
  const removed: string[] = [];
  const runtime: NodeRuntime = {
    ensureNode(spec: NodeContainerSpec) {
      if (!containers.has(spec.container))
        runs.push(`create ${spec.node.name} in ${spec.subnetId}`);
      containers.set(spec.container, spec.node);
      if (!addresses.has(spec.node.name)) {
        addresses.set(spec.node.name, `10.0.1.${10 + addresses.size}`);
      }
      return Promise.resolve(addresses.get(spec.node.name) as string);
    },
    exec(container: string, args: string[]): Promise<ExecResult> {
      const node = containers.get(container)?.name ?? container;
      const line = args.join(' ');
      if (args[0] === 'test') {
        return Promise.resolve({ exitCode: bootstrapped.has(node) ? 0 : 1, output: '' });
      }
      runs.push(`${node}: ${line}`);
      if (line.startsWith('kubeadm init --')) bootstrapped.add(node);
      if (line.startsWith('kubeadm join')) bootstrapped.add(node);
      if (line.startsWith('kubeadm reset')) bootstrapped.delete(node);
      if (line === 'cat /etc/kubernetes/pki/ca.crt')
        return Promise.resolve({ exitCode: 0, output: CA_PEM });
      if (line === 'cat /etc/kubernetes/admin.conf')
        return Promise.resolve({ exitCode: 0, output: ADMIN_CONF });
      if (line.startsWith('kubeadm token create')) {
        return Promise.resolve({ exitCode: 0, output: 'abcdef.0123456789abcdef\n' });
      }
      if (line.startsWith('kubeadm init phase upload-certs')) {
        return Promise.resolve({ exitCode: 0, output: `[upload-certs] done\n${'c'.repeat(64)}\n` });
      }
      return Promise.resolve({ exitCode: 0, output: '' });
    },
    copyFile: (from, path, to) => Promise.resolve(void runs.push(`copy ${path} ${from} -> ${to}`)),
    relayedPort: (_container, port) => Promise.resolve(port === 6443 ? 41234 : 0),
    nodesOf: () => Promise.resolve([...containers.values()]),
    removeNode(container: string) {
      removed.push(containers.get(container)?.name ?? container);
      containers.delete(container);
      return Promise.resolve();
    },
  };
  const deleted: string[] = [];
  const kubeconfigs: string[] = [];
  const api = (): KubernetesApi => ({
    serverVersion: () => Promise.resolve('v1.30.6'),
    listNodes: () =>
      Promise.resolve(
        [...containers.values()].map((n): KubeNode => ({
          name: n.name,
          role: n.role,
          unschedulable: false,
          ready: bootstrapped.has(n.name),
          kubeletVersion: 'v1.30.6',
        })),
      ),
    getNode: () => Promise.resolve(null),
    setUnschedulable: () => Promise.resolve({ was: false }),
    podsOn: () => Promise.resolve([]),
    evict: () => Promise.resolve('gone'),
    deletePod: () => Promise.resolve(),
    deleteNode: (name) => Promise.resolve(void deleted.push(name)),
  });
  const driver = new KubeadmClusterDriver(runtime, {
    nodeImage: 'nimbus/k8s-node:test',
    pollMs: 1,
    readyTimeoutMs: 1000,
    connect: (kubeconfig) => {
      kubeconfigs.push(kubeconfig);
      return Promise.resolve(api());
    },
  });
  const spec = {
    clusterId: CLUSTER,
    tenantId: TENANT,
    name: 'prod',
    vpcId: '00000000-0000-4000-8000-000000000009',
    subnetId: '00000000-0000-4000-8000-00000000000a' as string | null,
    version: 'v1.30.6',
    workers: 2,
    ha: true,
  };
  return { driver, runs, removed, deleted, kubeconfigs, spec, bootstrapped };
}

describe('kubeadm cluster driver', () => {
  it('provisions: every node made in the subnet, init on the first control plane, the CNI, then joins with one token', async () => {
    const { driver, runs, spec, kubeconfigs } = given();
    const cluster = await driver.provision(spec);
    // The endpoint is the first control plane's address in the VPC.
    expect(cluster.endpoint).toBe('https://10.0.1.10:6443');
    expect(runs.filter((r) => r.startsWith('create '))).toHaveLength(5);
    expect(
      runs.filter((r) => r.startsWith('create ')).every((r) => r.endsWith(spec.subnetId as string)),
    ).toBe(true);
    expect(cluster.nodes.map((n) => `${n.role}/${n.name}/${n.version}`)).toEqual([
      'control-plane/control-plane-0/v1.30.6',
      'control-plane/control-plane-1/v1.30.6',
      'control-plane/control-plane-2/v1.30.6',
      'worker/worker-0/v1.30.6',
      'worker/worker-1/v1.30.6',
    ]);
    const kubeadm = runs.filter((r) => r.includes('kubeadm ') && !r.includes('/opt/nimbus'));
    expect(kubeadm.map((r) => r.split(' --')[0])).toEqual([
      'control-plane-0: kubeadm init',
      'control-plane-0: kubeadm token create',
      'control-plane-0: kubeadm init phase upload-certs',
      'control-plane-1: kubeadm join 10.0.1.10:6443',
      'control-plane-2: kubeadm join 10.0.1.10:6443',
      'worker-0: kubeadm join 10.0.1.10:6443',
      'worker-1: kubeadm join 10.0.1.10:6443',
    ]);
    expect(runs).toContain(
      'control-plane-0: kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f /opt/nimbus/k8s/cni.yaml',
    );
    expect(runs.find((r) => r.startsWith('worker-0: kubeadm join'))).toContain(CA_HASH);
    expect(runs.find((r) => r.startsWith('worker-0: kubeadm join'))).not.toContain(
      '--control-plane',
    );
    expect(runs.find((r) => r.startsWith('control-plane-1: kubeadm join'))).toContain(
      `--certificate-key=${'c'.repeat(64)}`,
    );
    expect(runs.find((r) => r.startsWith('control-plane-1: kubeadm join'))).toContain(
      '--apiserver-advertise-address=10.0.1.11',
    );
    expect(runs.find((r) => r.startsWith('control-plane-0: kubeadm init'))).toContain(
      '--apiserver-advertise-address=10.0.1.10',
    );
    // The API is reached through the kubeconfig read from the node, pointed at 127.0.0.1.
    expect(kubeconfigs.at(-1)).toContain('server: https://127.0.0.1:41234');
  });

  it('refuses a cluster without a subnet before making any machine', async () => {
    const { driver, runs, spec } = given();
    await expect(driver.provision({ ...spec, subnetId: null })).rejects.toThrow(/no subnet/);
    expect(runs).toEqual([]);
  });

  it('provisioning again after a crash bootstraps nothing twice', async () => {
    const { driver, runs, spec } = given();
    await driver.provision(spec);
    const before = runs.length;
    await driver.provision(spec);
    expect(runs.slice(before).filter((r) => /kubeadm (init|join)/.test(r))).toEqual([]);
  });

  it('upgrades the control planes in order (apply on the first) and a worker by name', async () => {
    const { driver, runs, spec } = given();
    await driver.provision(spec);
    const before = runs.length;
    await driver.upgradeControlPlane(CLUSTER, 'v1.31.2');
    await driver.upgradeKubelet(CLUSTER, 'worker-1', 'v1.31.2');
    const upgrades = runs.slice(before).filter((r) => r.includes('kubeadm upgrade'));
    expect(upgrades.map((r) => r.split(' --')[0])).toEqual([
      'control-plane-0: kubeadm upgrade apply v1.31.2',
      'control-plane-1: kubeadm upgrade node',
      'control-plane-2: kubeadm upgrade node',
      'worker-1: kubeadm upgrade node',
    ]);
  });

  it('scales down by deleting the node object, then its machine; up by joining new workers', async () => {
    const { driver, spec, removed, deleted, runs } = given();
    await driver.provision(spec);
    const after = await driver.scale(spec, 1);
    expect(deleted).toEqual(['worker-1']);
    expect(removed).toEqual(['worker-1']);
    expect(after.filter((n) => n.role === 'worker').map((n) => n.name)).toEqual(['worker-0']);
    const grown = await driver.scale(spec, 3);
    expect(grown.filter((n) => n.role === 'worker').map((n) => n.name)).toEqual([
      'worker-0',
      'worker-1',
      'worker-2',
    ]);
    expect(runs.filter((r) => r.startsWith('worker-2: kubeadm join'))).toHaveLength(1);
  });

  it('repairs a node that is not Ready: reset, then joined again', async () => {
    const { driver, spec, runs, bootstrapped } = given();
    await driver.provision(spec);
    bootstrapped.delete('worker-0');
    const before = runs.length;
    const outcome = await driver.repair(spec);
    expect(outcome.repaired).toEqual(['worker-0']);
    expect(
      runs
        .slice(before)
        .filter((r) => r.startsWith('worker-0: kubeadm'))
        .map((r) => r.split(' --')[0]),
    ).toEqual(['worker-0: kubeadm reset', 'worker-0: kubeadm join 10.0.1.10:6443']);
  });

  it('destroys every node machine of the cluster', async () => {
    const { driver, spec, removed } = given();
    await driver.provision(spec);
    await driver.destroy(CLUSTER);
    expect(removed.sort()).toEqual(
      plannedNodes(true, 2)
        .map((n) => n.name)
        .sort(),
    );
  });
});
