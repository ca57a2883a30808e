import { describe, expect, it } from 'vitest';

import { nodeInstanceId, nodePrivileges } from './docker-node-runtime';

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

  it('are an instance (and a NIC) per container, the same again for the same container', () => {
    const container = 'f'.repeat(64);
    expect(nodeInstanceId(container)).toBe(nodeInstanceId(container));
    expect(nodeInstanceId(container)).not.toBe(nodeInstanceId('e'.repeat(64)));
    expect(nodeInstanceId(container)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
