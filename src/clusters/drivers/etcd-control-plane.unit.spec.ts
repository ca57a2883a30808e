import { describe, expect, it } from 'vitest';

import { etcdContainerName, parsePairs, snapshotPath } from './etcd-control-plane';

describe('etcd control plane helpers', () => {
  it("reads etcdctl's plain get output as key/value pairs", () => {
    const out = [
      '/nimbus/cluster/nodes/control-plane-0',
      '{"role":"control-plane","kubeletVersion":"v1.29.0"}',
      '/nimbus/cluster/spec',
      '{"name":"a","version":"v1.29.0","workers":0,"ha":false}',
      '',
    ].join('\n');
    expect([...parsePairs(out).keys()]).toEqual([
      '/nimbus/cluster/nodes/control-plane-0',
      '/nimbus/cluster/spec',
    ]);
    expect(parsePairs(out).get('/nimbus/cluster/spec')).toContain('"workers":0');
    expect(parsePairs('').size).toBe(0);
  });

  it('names the container and the snapshot file from the ids', () => {
    const id = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';
    expect(etcdContainerName(id)).toBe(`nimbus-cluster-${id}-etcd`);
    expect(snapshotPath(id)).toBe(`/var/lib/nimbus-backups/${id}.db`);
  });
});
