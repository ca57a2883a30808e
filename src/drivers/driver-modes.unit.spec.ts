import { describe, expect, it } from 'vitest';

import { driverModesFromEnv, DriverModeError } from './driver-modes';

describe('driverModesFromEnv', () => {
  it('defaults to auto', () => {
    expect(driverModesFromEnv({})).toEqual({ docker: 'auto', ovs: 'auto', ovn: 'auto' });
    expect(driverModesFromEnv({ NIMBUS_DOCKER: ' ', NIMBUS_OVS: '', NIMBUS_OVN: '' })).toEqual({
      docker: 'auto',
      ovs: 'auto',
      ovn: 'auto',
    });
  });

  it('accepts each mode, in any case', () => {
    expect(
      driverModesFromEnv({ NIMBUS_DOCKER: 'Docker', NIMBUS_OVS: 'SIMULATED', NIMBUS_OVN: 'Ovn' }),
    ).toEqual({ docker: 'docker', ovs: 'simulated', ovn: 'ovn' });
    expect(
      driverModesFromEnv({
        NIMBUS_DOCKER: 'simulated',
        NIMBUS_OVS: 'ovs',
        NIMBUS_OVN: 'simulated',
      }),
    ).toEqual({ docker: 'simulated', ovs: 'ovs', ovn: 'simulated' });
  });

  it('rejects a bad value, naming the variable and what it accepts', () => {
    expect(() => driverModesFromEnv({ NIMBUS_DOCKER: 'podman' })).toThrow(DriverModeError);
    expect(() => driverModesFromEnv({ NIMBUS_DOCKER: 'podman' })).toThrow(
      'NIMBUS_DOCKER="podman" is not allowed: expected one of auto, docker, simulated',
    );
    expect(() => driverModesFromEnv({ NIMBUS_OVS: 'docker' })).toThrow(
      'NIMBUS_OVS="docker" is not allowed: expected one of auto, ovs, simulated',
    );
    expect(() => driverModesFromEnv({ NIMBUS_OVN: 'ovs' })).toThrow(
      'NIMBUS_OVN="ovs" is not allowed: expected one of auto, ovn, simulated',
    );
  });
});
