/**
 * The port the compute context drives containers through. Two adapters: `DockerDriver` (a real
 * engine over its socket) and `SimulatedDockerDriver` (in memory, for machines without Docker,
 * announced as such by the drivers detection).
 *
 * Every call is idempotent and addressed by the instance id (the container is `nimbus-<id>`, the
 * volume `nimbus-vol-<id>`): create is create-if-absent, remove is delete-if-present, start on a
 * running container and stop on a stopped one succeed. A call repeated after a crash is harmless.
 */
import type { Duplex } from 'node:stream';

export const COMPUTE_DRIVER = Symbol('COMPUTE_DRIVER');

export const CONTAINER_PREFIX = 'nimbus-';
export const VOLUME_PREFIX = 'nimbus-vol-';
export const LABEL_TENANT = 'nimbus.tenant';
export const LABEL_INSTANCE = 'nimbus.instance';
export const LABEL_VOLUME = 'nimbus.volume';
/**
 * The installation (one data directory) a container or volume belongs to. Several installations
 * may share one Docker engine; each one's driver sees, changes and removes only its own (and
 * unlabelled ones created before the label existed).
 */
export const LABEL_INSTALLATION = 'nimbus.installation';
/** Repository of the per-instance images a re-created container keeps its root filesystem in. */
export const SNAPSHOT_REPOSITORY_PREFIX = 'nimbus-snapshot/';

/** `nimbus-snapshot/<instanceId>:<tag>`: the root filesystem of an instance, committed. */
export function snapshotReferenceOf(instanceId: string, tag: string): string {
  return `${SNAPSHOT_REPOSITORY_PREFIX}${instanceId}:${tag}`;
}

export function containerNameOf(instanceId: string): string {
  return `${CONTAINER_PREFIX}${instanceId}`;
}

export function volumeNameOf(volumeId: string): string {
  return `${VOLUME_PREFIX}${volumeId}`;
}

export interface ResourceLimits {
  NanoCpus: number;
  Memory: number;
  MemorySwap: number;
}

export interface ContainerSpec {
  instanceId: string;
  tenantId: string;
  /** Docker image id or reference the container boots from. */
  image: string;
  limits: ResourceLimits;
  volumes: ReadonlyArray<{ volumeId: string; mountPath: string }>;
  /** A shell script run before the keep-alive loop. */
  userData: string | null;
  /** Extra labels (tests label their containers to clean them up). */
  labels?: Record<string, string>;
}

/** Docker's container states; `missing` when no container has the instance's name. */
export type ContainerRunState =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerInfo {
  id: string;
  instanceId: string | null;
  tenantId: string | null;
  state: ContainerRunState;
  exitCode: number | null;
  nanoCpus: number;
  memoryBytes: number;
  labels: Record<string, string>;
  /** Image id the container was created from, when the adapter knows it. */
  image?: string;
  /** Named volumes mounted (Docker volume name and destination), when the adapter knows them. */
  mounts?: ReadonlyArray<{ name: string; destination: string }>;
  /** Its main process on this host while it runs (whose network namespace NICs are plugged into). */
  pid?: number;
}

export interface ContainerStats {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  at: string;
}

export interface ContainerLogLine {
  at: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** An engine event about one of our containers. */
export interface ContainerEvent {
  instanceId: string;
  action: string;
  exitCode: number | null;
  at: string;
}

export interface ImportedImage {
  dockerImageId: string;
  sizeBytes: number;
}

export interface ComputeDriver {
  readonly kind: 'docker' | 'simulated';
  /** Create-if-absent: an existing container with the instance's name is returned as is. */
  createContainer(spec: ContainerSpec): Promise<{ containerId: string; created: boolean }>;
  start(instanceId: string): Promise<void>;
  /** Unpauses first; stopping a stopped (or missing) container succeeds. */
  stop(instanceId: string, timeoutSeconds?: number): Promise<{ exitCode: number | null }>;
  pause(instanceId: string): Promise<void>;
  unpause(instanceId: string): Promise<void>;
  restart(instanceId: string, timeoutSeconds?: number): Promise<void>;
  update(instanceId: string, limits: ResourceLimits): Promise<void>;
  /**
   * Re-creates the instance's container with `spec` (its new mount set), keeping its root
   * filesystem: stop -> commit to `snapshotReference` -> remove -> create from the snapshot with
   * the same name, limits and labels -> start when `running`. Resumable from any point: a
   * container already created from the snapshot with the wanted mounts is only (re)started, a
   * missing container is created from an existing snapshot. Older snapshots of the instance are
   * removed at the end. `spec.image` is ignored (the snapshot is the image).
   */
  recreateContainer(
    spec: ContainerSpec,
    snapshotReference: string,
    running: boolean,
  ): Promise<{ containerId: string }>;
  /** Force-remove, delete-if-present; removes the instance's snapshot images too. */
  remove(instanceId: string): Promise<void>;
  inspect(instanceId: string): Promise<ContainerInfo | null>;
  /** Every container labelled as an instance of this installation. */
  list(): Promise<ContainerInfo[]>;
  stats(instanceId: string): Promise<ContainerStats>;
  logs(
    instanceId: string,
    options?: { sinceSeconds?: number; tail?: number },
  ): Promise<ContainerLogLine[]>;
  /**
   * Follows engine events of Nimbus containers until `signal` aborts (or the engine closes the
   * stream); resolves then. `onConnected` is called once the subscription is live.
   */
  events(
    onEvent: (event: ContainerEvent) => void,
    signal: AbortSignal,
    onConnected?: () => void,
  ): Promise<void>;
  /** An interactive shell in the container (a TTY), as a duplex byte stream. */
  shell(instanceId: string): Promise<Duplex>;
  createVolume(volumeId: string, labels: Record<string, string>): Promise<void>;
  removeVolume(volumeId: string): Promise<void>;
  /** `docker import` of a root filesystem tarball; `reference` names the result. */
  importImage(tarball: NodeJS.ReadableStream, reference: string): Promise<ImportedImage>;
  /** Delete-if-present. */
  removeImage(reference: string): Promise<void>;
  imageInfo(reference: string): Promise<ImportedImage | null>;
}

/** The driver could not do what was asked, and the reason is worth showing to a user. */
export class DriverError extends Error {
  constructor(
    message: string,
    /** 'not_found': the container/image/volume is missing; 'engine': anything else. */
    readonly kind: 'not_found' | 'conflict' | 'engine',
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/**
 * PID 1 of every instance: the user's script (if any), then a loop that keeps the container
 * alive and exits at once on SIGTERM (a bare `sleep` as PID 1 would make `docker stop` wait for
 * its timeout).
 */
export function bootCommand(): string[] {
  return [
    'sh',
    '-c',
    'trap "exit 0" TERM INT; ' +
      'if [ -n "$NIMBUS_USER_DATA" ]; then echo "$NIMBUS_USER_DATA" > /tmp/nimbus-user-data.sh; ' +
      'sh /tmp/nimbus-user-data.sh; fi; ' +
      'while true; do sleep 3600 & wait $!; done',
  ];
}
