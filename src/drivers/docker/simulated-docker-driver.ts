import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';

import {
  containerNameOf,
  DriverError,
  volumeNameOf,
  LABEL_INSTANCE,
  LABEL_TENANT,
  type ComputeDriver,
  type ContainerEvent,
  type ContainerInfo,
  type ContainerLogLine,
  type ContainerSpec,
  type ContainerStats,
  type ImportedImage,
  type ResourceLimits,
} from './compute-driver';

interface SimContainer extends ContainerInfo {
  image: string;
  logs: ContainerLogLine[];
}

/**
 * An in-memory stand-in for the Docker engine, for machines without Docker (`npm start` on a
 * laptop). Chosen by the drivers detection and announced in the log and in /health/ready; never
 * what the Docker tests use. It keeps the engine's rules that the API relies on: images must
 * exist, names are unique, pause needs running, removal is idempotent.
 */
export class SimulatedDockerDriver implements ComputeDriver {
  readonly kind = 'simulated' as const;
  private readonly containers = new Map<string, SimContainer>();
  private readonly volumes = new Set<string>();
  private readonly images = new Map<string, ImportedImage>();
  private readonly listeners = new Set<(event: ContainerEvent) => void>();

  /** Images a simulated launch may boot from (the base images are registered at start-up). */
  addImage(reference: string, sizeBytes = 2_000_000): ImportedImage {
    const image = {
      dockerImageId: `sha256:${createHash('sha256').update(reference).digest('hex')}`,
      sizeBytes,
    };
    this.images.set(reference, image);
    this.images.set(image.dockerImageId, image);
    return image;
  }

  private emit(instanceId: string, action: string, exitCode: number | null = null): void {
    const event = { instanceId, action, exitCode, at: new Date().toISOString() };
    for (const listener of this.listeners) listener(event);
  }

  private require(instanceId: string): SimContainer {
    const c = this.containers.get(instanceId);
    if (!c)
      throw new DriverError(`container ${containerNameOf(instanceId)} does not exist`, 'not_found');
    return c;
  }

  createContainer(spec: ContainerSpec): Promise<{ containerId: string; created: boolean }> {
    const existing = this.containers.get(spec.instanceId);
    if (existing) return Promise.resolve({ containerId: existing.id, created: false });
    if (!this.images.has(spec.image)) {
      return Promise.reject(new DriverError(`No such image: ${spec.image}`, 'not_found'));
    }
    const id = randomBytes(32).toString('hex');
    this.containers.set(spec.instanceId, {
      id,
      instanceId: spec.instanceId,
      tenantId: spec.tenantId,
      state: 'created',
      exitCode: null,
      nanoCpus: spec.limits.NanoCpus,
      memoryBytes: spec.limits.Memory,
      labels: { ...spec.labels, [LABEL_TENANT]: spec.tenantId, [LABEL_INSTANCE]: spec.instanceId },
      image: spec.image,
      mounts: spec.volumes.map((v) => ({
        name: volumeNameOf(v.volumeId),
        destination: v.mountPath,
      })),
      logs: [],
    });
    return Promise.resolve({ containerId: id, created: true });
  }

  /** The simulated engine keeps the container object and swaps its image and mounts. */
  async recreateContainer(
    spec: ContainerSpec,
    snapshotReference: string,
    running: boolean,
  ): Promise<{ containerId: string }> {
    const current = this.containers.get(spec.instanceId);
    if (current && current.image !== snapshotReference) {
      await this.stop(spec.instanceId);
      if (!this.images.has(snapshotReference)) this.addImage(snapshotReference);
      this.containers.delete(spec.instanceId);
      this.emit(spec.instanceId, 'destroy');
    }
    const { containerId } = await this.createContainer({ ...spec, image: snapshotReference });
    const recreated = this.require(spec.instanceId);
    recreated.mounts = spec.volumes.map((v) => ({
      name: volumeNameOf(v.volumeId),
      destination: v.mountPath,
    }));
    if (running) await this.start(spec.instanceId);
    return { containerId };
  }

  start(instanceId: string): Promise<void> {
    const c = this.require(instanceId);
    if (c.state !== 'running') {
      c.state = 'running';
      c.exitCode = null;
      c.logs.push({ at: new Date().toISOString(), stream: 'stdout', line: 'booted (simulated)' });
      this.emit(instanceId, 'start');
    }
    return Promise.resolve();
  }

  stop(instanceId: string): Promise<{ exitCode: number | null }> {
    const c = this.containers.get(instanceId);
    if (!c) return Promise.resolve({ exitCode: null });
    if (c.state === 'running' || c.state === 'paused') {
      c.state = 'exited';
      c.exitCode = 0;
      this.emit(instanceId, 'die', 0);
    }
    return Promise.resolve({ exitCode: c.exitCode });
  }

  pause(instanceId: string): Promise<void> {
    const c = this.require(instanceId);
    if (c.state === 'paused') return Promise.resolve();
    if (c.state !== 'running') {
      return Promise.reject(new DriverError(`container ${c.id} is not running`, 'conflict'));
    }
    c.state = 'paused';
    this.emit(instanceId, 'pause');
    return Promise.resolve();
  }

  unpause(instanceId: string): Promise<void> {
    const c = this.require(instanceId);
    if (c.state === 'paused') {
      c.state = 'running';
      this.emit(instanceId, 'unpause');
    }
    return Promise.resolve();
  }

  restart(instanceId: string): Promise<void> {
    const c = this.require(instanceId);
    c.state = 'running';
    c.exitCode = null;
    this.emit(instanceId, 'restart');
    return Promise.resolve();
  }

  update(instanceId: string, limits: ResourceLimits): Promise<void> {
    const c = this.require(instanceId);
    c.nanoCpus = limits.NanoCpus;
    c.memoryBytes = limits.Memory;
    return Promise.resolve();
  }

  remove(instanceId: string): Promise<void> {
    if (this.containers.delete(instanceId)) this.emit(instanceId, 'destroy');
    return Promise.resolve();
  }

  inspect(instanceId: string): Promise<ContainerInfo | null> {
    const c = this.containers.get(instanceId);
    return Promise.resolve(c ? infoOf(c) : null);
  }

  list(): Promise<ContainerInfo[]> {
    return Promise.resolve([...this.containers.values()].map(infoOf));
  }

  stats(instanceId: string): Promise<ContainerStats> {
    const c = this.require(instanceId);
    return Promise.resolve({
      cpuPercent: c.state === 'running' ? 0.1 : 0,
      memoryBytes: c.state === 'running' ? 1_048_576 : 0,
      memoryLimitBytes: c.memoryBytes,
      at: new Date().toISOString(),
    });
  }

  logs(instanceId: string, options: { tail?: number } = {}): Promise<ContainerLogLine[]> {
    const c = this.containers.get(instanceId);
    if (!c) return Promise.resolve([]);
    return Promise.resolve(options.tail !== undefined ? c.logs.slice(-options.tail) : [...c.logs]);
  }

  events(
    onEvent: (event: ContainerEvent) => void,
    signal: AbortSignal,
    onConnected?: () => void,
  ): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    this.listeners.add(onEvent);
    onConnected?.();
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        this.listeners.delete(onEvent);
        resolve();
      });
    });
  }

  shell(instanceId: string): Promise<Duplex> {
    this.require(instanceId);
    // An echoing "shell": what is written comes back.
    return Promise.resolve(new PassThrough());
  }

  createVolume(volumeId: string): Promise<void> {
    this.volumes.add(volumeId);
    return Promise.resolve();
  }

  removeVolume(volumeId: string): Promise<void> {
    this.volumes.delete(volumeId);
    return Promise.resolve();
  }

  async importImage(tarball: NodeJS.ReadableStream, reference: string): Promise<ImportedImage> {
    let size = 0;
    for await (const chunk of tarball) size += (chunk as Buffer).length;
    return this.addImage(reference, size);
  }

  removeImage(reference: string): Promise<void> {
    const image = this.images.get(reference);
    this.images.delete(reference);
    if (image) this.images.delete(image.dockerImageId);
    return Promise.resolve();
  }

  imageInfo(reference: string): Promise<ImportedImage | null> {
    return Promise.resolve(this.images.get(reference) ?? null);
  }

  /** For tests of drift: the "engine" kills a container behind the API's back. */
  simulateExit(instanceId: string, exitCode: number): void {
    const c = this.require(instanceId);
    c.state = 'exited';
    c.exitCode = exitCode;
    this.emit(instanceId, 'die', exitCode);
  }
}

function infoOf(c: SimContainer): ContainerInfo {
  return {
    id: c.id,
    instanceId: c.instanceId,
    tenantId: c.tenantId,
    state: c.state,
    exitCode: c.exitCode,
    nanoCpus: c.nanoCpus,
    memoryBytes: c.memoryBytes,
    labels: { ...c.labels },
    image: c.image,
    mounts: [...(c.mounts ?? [])],
  };
}
