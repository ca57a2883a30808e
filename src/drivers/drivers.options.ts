import type { DriverModes } from './driver-modes';

export interface DriversModuleOptions {
  /** From NIMBUS_DOCKER, NIMBUS_OVS and NIMBUS_OVN (AppConfig.docker, .ovs, .ovn). */
  modes: DriverModes;
  /** Docker engine socket. Default /var/run/docker.sock. */
  dockerSocketPath?: string;
  /** Build the base images at start-up when Docker is real. Default true. */
  ensureBaseImages?: boolean;
}
