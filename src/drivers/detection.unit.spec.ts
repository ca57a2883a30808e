import { describe, expect, it } from 'vitest';

import {
  chooseDriver,
  describeSelection,
  detectDrivers,
  DriverUnavailableError,
  type ProbeResult,
} from './detection';

const up: ProbeResult = { reachable: true, version: '20.10.24', detail: 'Docker Engine 20.10.24' };
const down: ProbeResult = { reachable: false, detail: 'connect ENOENT /var/run/docker.sock' };

describe('chooseDriver', () => {
  it('auto picks the real backend when it answers', () => {
    const selection = chooseDriver('docker', 'auto', up);
    expect(selection).toMatchObject({
      kind: 'docker',
      requested: 'auto',
      active: 'docker',
      version: '20.10.24',
    });
    expect(selection.reason).toContain('Docker Engine 20.10.24');
  });

  it('auto falls back to simulated, with the reason, when the backend does not answer', () => {
    const selection = chooseDriver('ovs', 'auto', {
      reachable: false,
      detail: 'ovs-vsctl is not installed',
    });
    expect(selection.active).toBe('simulated');
    expect(selection.reason).toBe(
      'NIMBUS_OVS=auto and Open vSwitch is not reachable (ovs-vsctl is not installed)',
    );
  });

  it('an explicit real mode uses the backend when it answers', () => {
    expect(
      chooseDriver('ovs', 'ovs', { reachable: true, detail: 'Open vSwitch 3.1.0' }).active,
    ).toBe('ovs');
  });

  it('an explicit real mode whose backend does not answer is an error naming the variable', () => {
    expect(() => chooseDriver('docker', 'docker', down)).toThrow(DriverUnavailableError);
    expect(() => chooseDriver('docker', 'docker', down)).toThrow(
      /^NIMBUS_DOCKER=docker but Docker is not reachable: connect ENOENT/,
    );
  });

  it('simulated needs no probe', () => {
    expect(chooseDriver('docker', 'simulated', null)).toEqual({
      kind: 'docker',
      requested: 'simulated',
      active: 'simulated',
      reason: 'NIMBUS_DOCKER=simulated',
    });
  });

  it('a real or auto mode without a probe result is a programming error', () => {
    expect(() => chooseDriver('docker', 'auto', null)).toThrow(/probe result is required/);
  });
});

describe('detectDrivers', () => {
  it('probes only what is not simulated', async () => {
    const probed: string[] = [];
    const detected = await detectDrivers(
      { docker: 'simulated', ovs: 'auto', ovn: 'simulated' },
      {
        docker: async () => {
          probed.push('docker');
          return up;
        },
        ovs: async () => {
          probed.push('ovs');
          return { reachable: true, version: '3.1.0', detail: 'Open vSwitch 3.1.0' };
        },
        ovn: async () => {
          probed.push('ovn');
          return up;
        },
      },
    );
    expect(probed).toEqual(['ovs']);
    expect(detected.docker.active).toBe('simulated');
    expect(detected.ovs).toMatchObject({ active: 'ovs', version: '3.1.0' });
    expect(detected.ovn).toMatchObject({ active: 'simulated', reason: 'NIMBUS_OVN=simulated' });
  });

  it('rejects when an explicitly requested backend is missing', async () => {
    await expect(
      detectDrivers(
        { docker: 'auto', ovs: 'ovs', ovn: 'auto' },
        {
          docker: async () => up,
          ovs: async () => ({ reachable: false, detail: 'no db.sock' }),
          ovn: async () => up,
        },
      ),
    ).rejects.toThrow(/^NIMBUS_OVS=ovs but Open vSwitch is not reachable: no db.sock/);
  });
});

describe('OVN selection', () => {
  it('NIMBUS_OVN=ovn whose OVN does not answer is an error naming the variable', async () => {
    await expect(
      detectDrivers(
        { docker: 'simulated', ovs: 'simulated', ovn: 'ovn' },
        {
          docker: async () => up,
          ovs: async () => up,
          ovn: async () => ({ reachable: false, detail: 'ovn-nbctl is not installed' }),
        },
      ),
    ).rejects.toThrow(/^NIMBUS_OVN=ovn but OVN is not reachable: ovn-nbctl is not installed/);
  });

  it('auto falls back to the simulated fabric and says why', () => {
    expect(
      describeSelection(chooseDriver('ovn', 'auto', { reachable: false, detail: 'no chassis' })),
    ).toBe('OVN driver: simulated (NIMBUS_OVN=auto and OVN is not reachable (no chassis))');
  });
});

describe('describeSelection', () => {
  it('says what runs and why', () => {
    expect(describeSelection(chooseDriver('docker', 'auto', down))).toBe(
      'Docker driver: simulated (NIMBUS_DOCKER=auto and Docker is not reachable (connect ENOENT /var/run/docker.sock))',
    );
    expect(
      describeSelection(
        chooseDriver('ovs', 'auto', { reachable: true, detail: 'Open vSwitch 3.1.0' }),
      ),
    ).toBe('Open vSwitch driver: ovs (real) (NIMBUS_OVS=auto: Open vSwitch 3.1.0)');
  });
});
