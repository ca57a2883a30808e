import type { DriverModes } from './driver-modes';

export interface DriversModuleOptions {
  /** From NIMBUS_DOCKER and NIMBUS_OVS (AppConfig.docker, AppConfig.ovs). */
  modes: DriverModes;
  /** Docker engine socket. Default /var/run/docker.sock. */
  dockerSocketPath?: string;
  /** Build the base images at start-up when Docker is real. Default true. */
  ensureBaseImages?: boolean;
}
