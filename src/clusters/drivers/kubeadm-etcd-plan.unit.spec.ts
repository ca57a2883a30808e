/**
 * The kubeadm etcd plans, and the order in which the adapter runs them on a fake node runtime
 * (real etcd: test/int/clusters/kubeadm-etcd.spec.ts).
 */
import { describe, expect, it } from 'vitest';

import type { ExecResult } from './docker-node-runtime';
import { KubeadmEtcd } from './kubeadm-etcd';
import {
  contentDigest,
  etcdctl,
  etcdMember,
  initialCluster,
  pointEtcdAt,
  snapshotRestore,
} from './kubeadm-etcd-plan';

const CLUSTER = '7c0f9e52-3c1b-4c3e-9a55-0d9f3b1f6a10';
const BACKUP = '1d2c3b4a-0000-4000-8000-000000000001';

/** What kubeadm writes to /etc/kubernetes/manifests/etcd.yaml (abridged to the command). */
function manifest(name: string, ip: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://${ip}:2379
    - --data-dir=/var/lib/etcd
    - --initial-advertise-peer-urls=https://${ip}:2380
    - --initial-cluster=${name}=https://${ip}:2380
    - --name=${name}
    image: registry.k8s.io/etcd:3.5.15-0
    name: etcd
`;
}

describe('kubeadm etcd plans', () => {
  it("talks to the node's own member over TLS as kubeadm's healthcheck client", () => {
    expect(etcdctl(['endpoint', 'health'])).toEqual([
      'etcdctl',
      '--endpoints=https://127.0.0.1:2379',
      '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
      '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key',
      '--dial-timeout=3s',
      '--command-timeout=15s',
      'endpoint',
      'health',
    ]);
  });

  it("reads a member's name and peer URL from its manifest, and builds one cluster of them", () => {
    const members = [
      etcdMember(manifest('control-plane-0', '10.0.1.10')),
      etcdMember(manifest('control-plane-1', '10.0.1.11')),
    ];
    expect(members[0]).toEqual({ name: 'control-plane-0', peerUrls: ['https://10.0.1.10:2380'] });
    expect(initialCluster(members)).toBe(
      'control-plane-0=https://10.0.1.10:2380,control-plane-1=https://10.0.1.11:2380',
    );
    expect(() => initialCluster([members[0], members[0]] as never)).toThrow(/one name/);
    expect(() => etcdMember('spec: {containers: [{name: etcd, command: [etcd]}]}')).toThrow(
      /no --name/,
    );
  });

  it('restores into a named directory under /var/lib/nimbus-etcd as its member', () => {
    const member = { name: 'control-plane-1', peerUrls: ['https://10.0.1.11:2380'] };
    const args = snapshotRestore(BACKUP, 'restore-2f0e9a52-3c1b-4c3e-9a55-0d9f3b1f6a10', member, [
      { name: 'control-plane-0', peerUrls: ['https://10.0.1.10:2380'] },
      member,
    ]);
    expect(args.slice(0, 2)).toEqual(['sh', '-c']);
    expect(args.slice(4)).toEqual([
      'snapshot',
      'restore',
      `/var/lib/nimbus-etcd/backups/${BACKUP}.db`,
      '--data-dir=/var/lib/nimbus-etcd/restore-2f0e9a52-3c1b-4c3e-9a55-0d9f3b1f6a10',
      '--name=control-plane-1',
      '--initial-cluster=control-plane-0=https://10.0.1.10:2380,control-plane-1=https://10.0.1.11:2380',
      '--initial-advertise-peer-urls=https://10.0.1.11:2380',
    ]);
  });

  it('takes only data directory names and revisions, never a path or a word', () => {
    expect(() => pointEtcdAt('../../etc')).toThrow(/no data directory/);
    expect(() => pointEtcdAt('data-0; rm -rf /')).toThrow(/no data directory/);
    expect(pointEtcdAt('data-0').slice(-3)).toEqual([
      '/var/lib/nimbus-etcd',
      '/var/lib/etcd',
      'data-0',
    ]);
    expect(() => contentDigest(0)).toThrow(/not an etcd revision/);
    expect(contentDigest(42).slice(-4)).toEqual(['get', '', '--from-key', '--rev=42']);
  });
});

/** Given: control planes whose commands are recorded; pointing fails on the nodes in `failOn`. */
function given(count: number, failOn: string[] = []) {
  const runs: string[] = [];
  const nodes = {
    nodesOf: () =>
      Promise.resolve(
        Array.from({ length: count }, (_, i) => ({
          name: `control-plane-${i}`,
          role: 'control-plane' as const,
        })).concat([{ name: 'worker-0', role: 'worker' as never }]),
      ),
    exec(container: string, args: string[]): Promise<ExecResult> {
      const node = container.replace(`nimbus-cluster-${CLUSTER}-`, '');
      const step = args[0] === 'sh' ? args[3] : args.slice(0, 2).join(' ');
      runs.push(`${node}: ${step}`);
      // Nothing runs once held; no snapshot file is on a node yet.
      if (step === 'running' || args[0] === 'test')
        return Promise.resolve({ exitCode: 1, output: '' });
      if (step === 'point' && failOn.includes(node)) {
        return Promise.resolve({ exitCode: 1, output: 'holds no etcd member' });
      }
      if (step === 'manifest') {
        return Promise.resolve({ exitCode: 0, output: manifest(node, '10.0.1.10') });
      }
      if (args[0] === 'etcdctl' && args.includes('status')) {
        return Promise.resolve({ exitCode: 0, output: '[{"Status":{"header":{"revision":7}}}]' });
      }
      return Promise.resolve({ exitCode: 0, output: '' });
    },
    copyFile: (_from: string, path: string, to: string) =>
      Promise.resolve(
        void runs.push(`copy ${path} to ${to.replace(`nimbus-cluster-${CLUSTER}-`, '')}`),
      ),
  };
  return { runs, etcd: new KubeadmEtcd(nodes, { pollMs: 1 }) };
}

describe('kubeadm etcd switch', () => {
  it('holds every control plane, waits for each to stop, points each, then releases each', async () => {
    const { runs, etcd } = given(3);
    await etcd.switchTo(CLUSTER, 'data-0');
    const steps = runs.filter((r) => !r.includes('etcdctl') && !r.includes('data-dir'));
    expect(steps).toEqual([
      'control-plane-0: manifests',
      'control-plane-1: manifests',
      'control-plane-2: manifests',
      'control-plane-0: running',
      'control-plane-1: running',
      'control-plane-2: running',
      'control-plane-0: point',
      'control-plane-1: point',
      'control-plane-2: point',
      'control-plane-0: manifests',
      'control-plane-1: manifests',
      'control-plane-2: manifests',
    ]);
  });

  it('leaves the control plane held when pointing one member fails: never members on different data', async () => {
    const { runs, etcd } = given(3, ['control-plane-1']);
    await expect(etcd.switchTo(CLUSTER, 'data-0')).rejects.toThrow(/holds no etcd member/);
    expect(runs.filter((r) => r.endsWith('manifests'))).toHaveLength(3);
    expect(runs).not.toContain('control-plane-2: point');
  });

  it('copies the snapshot to every other control plane before restoring there', async () => {
    const { runs, etcd } = given(2);
    const facts = { sizeBytes: 1, sha256: '', revision: 7, totalKeys: 1, contentSha256: '' };
    await etcd.restoreInto(CLUSTER, BACKUP, facts, 'data-0');
    expect(runs.filter((r) => r.startsWith('copy'))).toEqual([
      `copy /var/lib/nimbus-etcd/backups/${BACKUP}.db to control-plane-1`,
    ]);
  });
});
