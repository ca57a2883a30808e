import { describe, expect, it } from 'vitest';

import { driverModesFromEnv, DriverModeError } from './driver-modes';

describe('driverModesFromEnv', () => {
  it('defaults to auto', () => {
    expect(driverModesFromEnv({})).toEqual({ docker: 'auto', ovs: 'auto' });
    expect(driverModesFromEnv({ NIMBUS_DOCKER: ' ', NIMBUS_OVS: '' })).toEqual({
      docker: 'auto',
      ovs: 'auto',
    });
  });

  it('accepts each mode, in any case', () => {
    expect(driverModesFromEnv({ NIMBUS_DOCKER: 'Docker', NIMBUS_OVS: 'SIMULATED' })).toEqual({
      docker: 'docker',
      ovs: 'simulated',
    });
    expect(driverModesFromEnv({ NIMBUS_DOCKER: 'simulated', NIMBUS_OVS: 'ovs' })).toEqual({
      docker: 'simulated',
      ovs: 'ovs',
    });
  });

  it('rejects a bad value, naming the variable and what it accepts', () => {
    expect(() => driverModesFromEnv({ NIMBUS_DOCKER: 'podman' })).toThrow(DriverModeError);
    expect(() => driverModesFromEnv({ NIMBUS_DOCKER: 'podman' })).toThrow(
      'NIMBUS_DOCKER="podman" is not allowed: expected one of auto, docker, simulated',
    );
    expect(() => driverModesFromEnv({ NIMBUS_OVS: 'docker' })).toThrow(
      'NIMBUS_OVS="docker" is not allowed: expected one of auto, ovs, simulated',
    );
  });
});
