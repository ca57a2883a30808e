import type { DockerDriverMode, DriverModes, OvnDriverMode, OvsDriverMode } from './driver-modes';

/** What a probe of a real backend found. */
export interface ProbeResult {
  reachable: boolean;
  /** The backend's version when reachable, e.g. `20.10.24`. */
  version?: string;
  /** One line for people: what answered, or why nothing did. */
  detail: string;
}

export type DriverKind = 'docker' | 'ovs' | 'ovn';

type RequestedMode<K extends DriverKind> = K extends 'docker'
  ? DockerDriverMode
  : K extends 'ovs'
    ? OvsDriverMode
    : OvnDriverMode;

export interface DriverSelection<K extends DriverKind = DriverKind> {
  kind: K;
  /** What the configuration asked for. */
  requested: RequestedMode<K>;
  /** What runs: the real backend or the simulation. */
  active: K | 'simulated';
  /** Why `active` was chosen, announced in the log and in /health/ready. */
  reason: string;
  version?: string;
}

export interface DetectedDrivers {
  docker: DriverSelection<'docker'>;
  ovs: DriverSelection<'ovs'>;
  /** The network fabric: OVN on Open vSwitch, or simulated. */
  ovn: DriverSelection<'ovn'>;
}

const VARIABLE: Record<DriverKind, string> = {
  docker: 'NIMBUS_DOCKER',
  ovs: 'NIMBUS_OVS',
  ovn: 'NIMBUS_OVN',
};
const LABEL: Record<DriverKind, string> = { docker: 'Docker', ovs: 'Open vSwitch', ovn: 'OVN' };

/** An explicit real driver (NIMBUS_DOCKER=docker, NIMBUS_OVS=ovs, NIMBUS_OVN=ovn) whose backend does not answer. */
export class DriverUnavailableError extends Error {
  constructor(
    readonly kind: DriverKind,
    readonly detail: string,
  ) {
    super(
      `${VARIABLE[kind]}=${kind} but ${LABEL[kind]} is not reachable: ${detail}. ` +
        `Start it, or set ${VARIABLE[kind]}=auto (or simulated) to run without it.`,
    );
    this.name = 'DriverUnavailableError';
  }
}

/**
 * Pure choice of driver from the requested mode and, unless `simulated` was asked for, what the
 * probe found. `probe` is null exactly when the mode is `simulated` (nothing was probed).
 */
export function chooseDriver<K extends DriverKind>(
  kind: K,
  requested: DriverSelection<K>['requested'],
  probe: ProbeResult | null,
): DriverSelection<K> {
  const variable = VARIABLE[kind];
  if (requested === 'simulated') {
    return { kind, requested, active: 'simulated', reason: `${variable}=simulated` };
  }
  if (!probe) {
    throw new Error(`chooseDriver(${kind}): a probe result is required for mode ${requested}`);
  }
  if (probe.reachable) {
    return {
      kind,
      requested,
      active: kind,
      reason: `${variable}=${requested}: ${probe.detail}`,
      ...(probe.version ? { version: probe.version } : {}),
    };
  }
  if (requested === 'auto') {
    return {
      kind,
      requested,
      active: 'simulated',
      reason: `${variable}=auto and ${LABEL[kind]} is not reachable (${probe.detail})`,
    };
  }
  throw new DriverUnavailableError(kind, probe.detail);
}

export interface DriverProbes {
  docker(): Promise<ProbeResult>;
  ovs(): Promise<ProbeResult>;
  ovn(): Promise<ProbeResult>;
}

/**
 * Probes what the modes need (both at once) and chooses each driver. Rejects with a
 * DriverUnavailableError when an explicitly requested backend does not answer.
 */
export async function detectDrivers(
  modes: DriverModes,
  probes: DriverProbes,
): Promise<DetectedDrivers> {
  const [dockerProbe, ovsProbe, ovnProbe] = await Promise.all([
    modes.docker === 'simulated' ? null : probes.docker(),
    modes.ovs === 'simulated' ? null : probes.ovs(),
    modes.ovn === 'simulated' ? null : probes.ovn(),
  ]);
  return {
    docker: chooseDriver('docker', modes.docker, dockerProbe),
    ovs: chooseDriver('ovs', modes.ovs, ovsProbe),
    ovn: chooseDriver('ovn', modes.ovn, ovnProbe),
  };
}

/** The line announced once at start-up for one driver. */
export function describeSelection(selection: DriverSelection): string {
  const what = selection.active === 'simulated' ? 'simulated' : `${selection.active} (real)`;
  return `${LABEL[selection.kind]} driver: ${what} (${selection.reason})`;
}
