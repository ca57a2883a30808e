/** NIMBUS_DOCKER: `auto` uses Docker when it answers, else `simulated`. */
export type DockerDriverMode = 'auto' | 'docker' | 'simulated';
/** NIMBUS_OVS: `auto` uses Open vSwitch when it answers, else `simulated`. */
export type OvsDriverMode = 'auto' | 'ovs' | 'simulated';
/** NIMBUS_OVN: `auto` uses OVN (the network fabric) when it answers, else `simulated`. */
export type OvnDriverMode = 'auto' | 'ovn' | 'simulated';

export interface DriverModes {
  docker: DockerDriverMode;
  ovs: OvsDriverMode;
  ovn: OvnDriverMode;
}

export const DOCKER_DRIVER_MODES: readonly DockerDriverMode[] = ['auto', 'docker', 'simulated'];
export const OVS_DRIVER_MODES: readonly OvsDriverMode[] = ['auto', 'ovs', 'simulated'];
export const OVN_DRIVER_MODES: readonly OvnDriverMode[] = ['auto', 'ovn', 'simulated'];

export class DriverModeError extends Error {
  constructor(variable: string, value: string, allowed: readonly string[]) {
    super(
      `${variable}=${JSON.stringify(value)} is not allowed: expected one of ${allowed.join(', ')}`,
    );
    this.name = 'DriverModeError';
  }
}

/**
 * Reads NIMBUS_DOCKER, NIMBUS_OVS and NIMBUS_OVN (unset or empty means `auto`). The application's config
 * validates the same variables; this is for tools and tests that build the drivers alone.
 */
export function driverModesFromEnv(env: Readonly<Record<string, string | undefined>>): DriverModes {
  return {
    docker: pick('NIMBUS_DOCKER', env.NIMBUS_DOCKER, DOCKER_DRIVER_MODES),
    ovs: pick('NIMBUS_OVS', env.NIMBUS_OVS, OVS_DRIVER_MODES),
    ovn: pick('NIMBUS_OVN', env.NIMBUS_OVN, OVN_DRIVER_MODES),
  };
}

function pick<T extends string>(
  variable: string,
  raw: string | undefined,
  allowed: readonly T[],
): T {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '') return 'auto' as T;
  const found = allowed.find((mode) => mode === value);
  if (!found) throw new DriverModeError(variable, raw ?? '', allowed);
  return found;
}
