import { describe, expect, it } from 'vitest';

import { nodeNicId, nodePrivileges } from './docker-node-runtime';

describe('node containers', () => {
  it('are privileged on a host with every capability', () => {
    expect(nodePrivileges(0x1ffffffffffn)).toEqual({
      Privileged: true,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    });
    expect(nodePrivileges(null)).toMatchObject({ Privileged: true });
  });

  it('get every capability the host has, every device and unmasked paths on a host lacking some', () => {
    // CapBnd of a sandboxed host without CAP_SYS_RESOURCE (bit 24).
    const host = nodePrivileges(0x1fffeffffffn);
    expect(host.Privileged).toBeUndefined();
    expect(host.CapAdd).toEqual(['ALL']);
    expect(host.CapDrop).toEqual(['SYS_RESOURCE']);
    expect(host.DeviceCgroupRules).toEqual(['a *:* rwm']);
    expect(host.MaskedPaths).toEqual([]);
    expect(host.ReadonlyPaths).toEqual([]);
  });

  it('name a NIC per cluster and node, the same again for the same node', () => {
    const cluster = '0b6c1d9e-5f0a-4c4e-8d1e-7a3b2c1d0e9f';
    expect(nodeNicId(cluster, 'worker-0')).toBe(nodeNicId(cluster, 'worker-0'));
    expect(nodeNicId(cluster, 'worker-0')).not.toBe(nodeNicId(cluster, 'worker-1'));
    expect(nodeNicId(cluster, 'worker-0')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
