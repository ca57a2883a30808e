import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';

import {
  bootCommand,
  containerNameOf,
  DriverError,
  LABEL_INSTALLATION,
  LABEL_INSTANCE,
  LABEL_TENANT,
  LABEL_VOLUME,
  SNAPSHOT_REPOSITORY_PREFIX,
  volumeNameOf,
  type ComputeDriver,
  type ContainerEvent,
  type ContainerInfo,
  type ContainerLogLine,
  type ContainerRunState,
  type ContainerSpec,
  type ContainerStats,
  type ImportedImage,
  type ResourceLimits,
} from './compute-driver';

interface DockerApiError {
  statusCode?: number;
  message?: string;
  json?: { message?: string } | null;
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null
    ? (error as DockerApiError).statusCode
    : undefined;
}

function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as DockerApiError;
    if (e.json && typeof e.json.message === 'string') return e.json.message;
    if (typeof e.message === 'string')
      return e.message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '');
  }
  return String(error);
}

function engineError(what: string, error: unknown): DriverError {
  const status = statusOf(error);
  const kind = status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'engine';
  return new DriverError(`${what}: ${messageOf(error)}`, kind);
}

/** Runs a call that answers 304 (already in that state) or 404 (already gone) as success. */
async function tolerant(call: () => Promise<unknown>, ok: readonly number[]): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status !== undefined && ok.includes(status)) return false;
    throw error;
  }
}

const RUN_STATES: ReadonlySet<string> = new Set([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);

/** Splits Docker's multiplexed (non-TTY) log stream into lines with their timestamps. */
export function demuxLogs(buffer: Buffer): ContainerLogLine[] {
  const lines: ContainerLogLine[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const streamType = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
    for (const raw of payload.split('\n')) {
      if (raw === '') continue;
      const space = raw.indexOf(' ');
      const stamp = space > 0 ? raw.slice(0, space) : '';
      const parsed = Date.parse(stamp);
      lines.push({
        at: Number.isNaN(parsed) ? new Date().toISOString() : new Date(parsed).toISOString(),
        stream: streamType === 2 ? 'stderr' : 'stdout',
        line: Number.isNaN(parsed) ? raw : raw.slice(space + 1),
      });
    }
  }
  return lines;
}

/**
 * The Docker adapter, on dockerode over the engine's socket. Containers run with no network
 * (`NetworkMode: none`; the networking context plugs them into OVS), the type's CPU and memory
 * limits, labels naming tenant, instance and installation, and the instance's Docker volumes
 * mounted.
 *
 * Another installation's containers and volumes on the same engine (another
 * `nimbus.installation` label) do not exist for this driver: inspect answers null, list and
 * events leave them out, remove, logs and the rest do not touch them.
 */
export class DockerDriver implements ComputeDriver {
  readonly kind = 'docker' as const;

  constructor(
    private readonly docker: Dockerode,
    readonly installationId: string,
  ) {}

  /** Ours: labelled with this installation, or unlabelled (created before the label). */
  private ours(labels: Record<string, string> | null | undefined): boolean {
    const owner = labels?.[LABEL_INSTALLATION];
    return owner === undefined || owner === this.installationId;
  }

  /** Whether a container with the instance's name exists and belongs to another installation. */
  private async foreign(instanceId: string): Promise<boolean> {
    try {
      const info = await this.container(instanceId).inspect();
      return !this.ours(info.Config.Labels);
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw engineError(`inspecting ${containerNameOf(instanceId)}`, error);
    }
  }

  private container(instanceId: string): Dockerode.Container {
    return this.docker.getContainer(containerNameOf(instanceId));
  }

  async createContainer(spec: ContainerSpec): Promise<{ containerId: string; created: boolean }> {
    const name = containerNameOf(spec.instanceId);
    const existing = await this.inspect(spec.instanceId);
    if (existing) return { containerId: existing.id, created: false };
    try {
      const container = await this.docker.createContainer({
        name,
        Image: spec.image,
        Cmd: bootCommand(),
        Env: spec.userData ? [`NIMBUS_USER_DATA=${spec.userData}`] : [],
        Hostname: spec.instanceId.slice(0, 12),
        Labels: {
          ...spec.labels,
          [LABEL_TENANT]: spec.tenantId,
          [LABEL_INSTANCE]: spec.instanceId,
          [LABEL_INSTALLATION]: this.installationId,
        },
        Tty: false,
        OpenStdin: false,
        HostConfig: {
          NetworkMode: 'none',
          NanoCpus: spec.limits.NanoCpus,
          Memory: spec.limits.Memory,
          MemorySwap: spec.limits.MemorySwap,
          Binds: spec.volumes.map((v) => `${volumeNameOf(v.volumeId)}:${v.mountPath}`),
          RestartPolicy: { Name: 'no' },
        },
      });
      return { containerId: container.id, created: true };
    } catch (error) {
      if (statusOf(error) === 409) {
        // Created concurrently (a step re-run after a crash): the name is ours.
        const info = await this.inspect(spec.instanceId);
        if (info) return { containerId: info.id, created: false };
      }
      throw engineError(`creating container ${name}`, error);
    }
  }

  async start(instanceId: string): Promise<void> {
    const info = await this.requireInspect(instanceId);
    try {
      if (info.state === 'paused')
        await tolerant(() => this.container(instanceId).unpause(), [304, 409]);
      else await tolerant(() => this.container(instanceId).start(), [304]);
    } catch (error) {
      throw engineError(`starting ${containerNameOf(instanceId)}`, error);
    }
  }

  async stop(instanceId: string, timeoutSeconds = 10): Promise<{ exitCode: number | null }> {
    const info = await this.inspect(instanceId);
    if (!info) return { exitCode: null };
    try {
      if (info.state === 'paused')
        await tolerant(() => this.container(instanceId).unpause(), [304, 409]);
      await tolerant(() => this.container(instanceId).stop({ t: timeoutSeconds }), [304, 404]);
    } catch (error) {
      throw engineError(`stopping ${containerNameOf(instanceId)}`, error);
    }
    const after = await this.inspect(instanceId);
    return { exitCode: after?.exitCode ?? null };
  }

  async pause(instanceId: string): Promise<void> {
    const info = await this.requireInspect(instanceId);
    if (info.state === 'paused') return;
    try {
      await this.container(instanceId).pause();
    } catch (error) {
      throw engineError(`pausing ${containerNameOf(instanceId)}`, error);
    }
  }

  async unpause(instanceId: string): Promise<void> {
    const info = await this.requireInspect(instanceId);
    if (info.state !== 'paused') return;
    try {
      await this.container(instanceId).unpause();
    } catch (error) {
      throw engineError(`unpausing ${containerNameOf(instanceId)}`, error);
    }
  }

  async restart(instanceId: string, timeoutSeconds = 10): Promise<void> {
    await this.requireInspect(instanceId);
    try {
      await this.container(instanceId).restart({ t: timeoutSeconds });
    } catch (error) {
      throw engineError(`restarting ${containerNameOf(instanceId)}`, error);
    }
  }

  async update(instanceId: string, limits: ResourceLimits): Promise<void> {
    const info = await this.requireInspect(instanceId);
    // Docker refuses a Memory above the current MemorySwap and a MemorySwap below the current
    // Memory, so the order depends on the direction of the change.
    const body = growing(info, limits)
      ? { NanoCpus: limits.NanoCpus, MemorySwap: limits.MemorySwap, Memory: limits.Memory }
      : { NanoCpus: limits.NanoCpus, Memory: limits.Memory, MemorySwap: limits.MemorySwap };
    try {
      await this.container(instanceId).update(body);
    } catch (error) {
      throw engineError(`updating ${containerNameOf(instanceId)}`, error);
    }
  }

  async recreateContainer(
    spec: ContainerSpec,
    snapshotReference: string,
    running: boolean,
  ): Promise<{ containerId: string }> {
    const { instanceId } = spec;
    const name = containerNameOf(instanceId);
    const wanted = mountKeys(
      spec.volumes.map((v) => ({ name: volumeNameOf(v.volumeId), destination: v.mountPath })),
    );
    let snapshot = await this.imageInfo(snapshotReference);
    const current = await this.inspect(instanceId);
    const done =
      current !== null &&
      snapshot !== null &&
      current.image === snapshot.dockerImageId &&
      mountKeys(current.mounts ?? []) === wanted;
    if (current && !done) {
      await this.stop(instanceId);
      if (!snapshot) {
        const [repo, tag] = splitReference(snapshotReference);
        try {
          await this.container(instanceId).commit({ repo, tag });
        } catch (error) {
          throw engineError(`committing ${name} to ${snapshotReference}`, error);
        }
        snapshot = await this.imageInfo(snapshotReference);
      }
      await this.remove(instanceId, false);
    }
    if (!snapshot) {
      throw new DriverError(
        `container ${name} and its snapshot ${snapshotReference} are both missing`,
        'not_found',
      );
    }
    const { containerId } = await this.createContainer({ ...spec, image: snapshotReference });
    if (running) await this.start(instanceId);
    // Older snapshots are garbage now; one left by a failure here goes with the next change or
    // the removal (both remove every snapshot but the one in use), so it does not fail the change.
    await this.removeSnapshots(instanceId, snapshotReference).catch(() => undefined);
    return { containerId };
  }

  /** The instance's snapshot images but `keep` (all of them when null); in use ones stay. */
  private async removeSnapshots(instanceId: string, keep: string | null): Promise<void> {
    const repository = `${SNAPSHOT_REPOSITORY_PREFIX}${instanceId}`;
    let images: Dockerode.ImageInfo[];
    try {
      images = await this.docker.listImages({ filters: { reference: [repository] } });
    } catch (error) {
      throw engineError(`listing snapshots of ${instanceId}`, error);
    }
    for (const image of images) {
      for (const tag of image.RepoTags ?? []) {
        if (tag === keep || !tag.startsWith(`${repository}:`)) continue;
        // Untagging is enough: layers the current snapshot builds on stay until it goes.
        try {
          await tolerant(() => this.docker.getImage(tag).remove({ noprune: false }), [404, 409]);
        } catch (error) {
          throw engineError(`removing the snapshot ${tag}`, error);
        }
      }
    }
  }

  async remove(instanceId: string, withSnapshots = true): Promise<void> {
    if (await this.foreign(instanceId)) return;
    try {
      await tolerant(() => this.container(instanceId).remove({ force: true, v: false }), [404]);
    } catch (error) {
      // 409 "removal already in progress": someone else is removing it.
      if (statusOf(error) !== 409)
        throw engineError(`removing ${containerNameOf(instanceId)}`, error);
    }
    if (withSnapshots) await this.removeSnapshots(instanceId, null);
  }

  async inspect(instanceId: string): Promise<ContainerInfo | null> {
    try {
      const info = await this.container(instanceId).inspect();
      return this.ours(info.Config.Labels) ? infoOf(info) : null;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw engineError(`inspecting ${containerNameOf(instanceId)}`, error);
    }
  }

  private async requireInspect(instanceId: string): Promise<ContainerInfo> {
    const info = await this.inspect(instanceId);
    if (!info)
      throw new DriverError(`container ${containerNameOf(instanceId)} does not exist`, 'not_found');
    return info;
  }

  async list(): Promise<ContainerInfo[]> {
    const rows = await this.docker.listContainers({
      all: true,
      filters: { label: [LABEL_INSTANCE] },
    });
    return rows
      .filter((row) => this.ours(row.Labels))
      .map((row) => ({
        id: row.Id,
        instanceId: row.Labels[LABEL_INSTANCE] ?? null,
        tenantId: row.Labels[LABEL_TENANT] ?? null,
        state: (RUN_STATES.has(row.State) ? row.State : 'dead') as ContainerRunState,
        exitCode: exitCodeFromStatus(row.Status),
        nanoCpus: 0,
        memoryBytes: 0,
        labels: row.Labels,
      }));
  }

  async stats(instanceId: string): Promise<ContainerStats> {
    await this.requireInspect(instanceId);
    try {
      const s = await this.container(instanceId).stats({ stream: false, 'one-shot': false });
      const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
      const systemDelta =
        (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
      const cpus = s.cpu_stats.online_cpus ?? 1;
      const cpuPercent =
        systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
      return {
        cpuPercent: Math.round(cpuPercent * 100) / 100,
        memoryBytes: s.memory_stats.usage ?? 0,
        memoryLimitBytes: s.memory_stats.limit ?? 0,
        at: new Date(s.read).toISOString(),
      };
    } catch (error) {
      throw engineError(`reading stats of ${containerNameOf(instanceId)}`, error);
    }
  }

  async logs(
    instanceId: string,
    options: { sinceSeconds?: number; tail?: number } = {},
  ): Promise<ContainerLogLine[]> {
    if (await this.foreign(instanceId)) return [];
    try {
      const buffer = await this.container(instanceId).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: false,
        ...(options.sinceSeconds !== undefined ? { since: options.sinceSeconds } : {}),
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
      });
      return demuxLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)));
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw engineError(`reading logs of ${containerNameOf(instanceId)}`, error);
    }
  }

  async events(
    onEvent: (event: ContainerEvent) => void,
    signal: AbortSignal,
    onConnected?: () => void,
  ): Promise<void> {
    if (signal.aborted) return;
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], label: [LABEL_INSTANCE] },
    })) as NodeJS.ReadableStream & { destroy?: () => void };
    onConnected?.();
    await new Promise<void>((resolve) => {
      let pending = '';
      const finish = (): void => {
        signal.removeEventListener('abort', finish);
        stream.destroy?.();
        resolve();
      };
      signal.addEventListener('abort', finish);
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
          if (line === '') continue;
          const event = parseEvent(line, (labels) => this.ours(labels));
          if (event) onEvent(event);
        }
      });
      stream.on('end', finish);
      stream.on('error', finish);
    });
  }

  async shell(instanceId: string): Promise<Duplex> {
    await this.requireInspect(instanceId);
    try {
      const exec = await this.container(instanceId).exec({
        Cmd: ['sh'],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        Env: ['TERM=xterm', 'PS1=# '],
      });
      return await exec.start({ hijack: true, stdin: true, Tty: true });
    } catch (error) {
      throw engineError(`opening a shell in ${containerNameOf(instanceId)}`, error);
    }
  }

  async createVolume(volumeId: string, labels: Record<string, string>): Promise<void> {
    try {
      // Creating an existing volume with the same name is a no-op in the engine.
      await this.docker.createVolume({
        Name: volumeNameOf(volumeId),
        Labels: { ...labels, [LABEL_VOLUME]: volumeId, [LABEL_INSTALLATION]: this.installationId },
      });
    } catch (error) {
      throw engineError(`creating volume ${volumeNameOf(volumeId)}`, error);
    }
  }

  async removeVolume(volumeId: string): Promise<void> {
    const volume = await this.docker
      .getVolume(volumeNameOf(volumeId))
      .inspect()
      .catch(() => null);
    if (volume && !this.ours(volume.Labels)) return;
    try {
      await tolerant(() => this.docker.getVolume(volumeNameOf(volumeId)).remove(), [404]);
    } catch (error) {
      throw engineError(`removing volume ${volumeNameOf(volumeId)}`, error);
    }
  }

  async importImage(tarball: NodeJS.ReadableStream, reference: string): Promise<ImportedImage> {
    const [repo, tag] = splitReference(reference);
    let output: NodeJS.ReadableStream;
    try {
      output = await this.docker.importImage(tarball, { repo, tag });
    } catch (error) {
      throw engineError(`importing ${reference}`, error);
    }
    const text = await readAll(output);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const parsed = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        if (parsed.error)
          throw new DriverError(`importing ${reference}: ${parsed.error}`, 'engine');
      } catch (error) {
        if (error instanceof DriverError) throw error;
      }
    }
    const info = await this.imageInfo(reference);
    if (!info)
      throw new DriverError(`importing ${reference}: the engine produced no image`, 'engine');
    return info;
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await tolerant(() => this.docker.getImage(reference).remove({ force: true }), [404]);
    } catch (error) {
      throw engineError(`removing image ${reference}`, error);
    }
  }

  async imageInfo(reference: string): Promise<ImportedImage | null> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      return { dockerImageId: info.Id, sizeBytes: info.Size };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw engineError(`inspecting image ${reference}`, error);
    }
  }
}

function growing(info: ContainerInfo, limits: ResourceLimits): boolean {
  return limits.Memory > info.memoryBytes;
}

function infoOf(info: Dockerode.ContainerInspectInfo): ContainerInfo {
  const labels = info.Config.Labels ?? {};
  const status = info.State.Status;
  return {
    id: info.Id,
    instanceId: labels[LABEL_INSTANCE] ?? null,
    tenantId: labels[LABEL_TENANT] ?? null,
    state: (RUN_STATES.has(status) ? status : 'dead') as ContainerRunState,
    exitCode: status === 'exited' || status === 'dead' ? info.State.ExitCode : null,
    nanoCpus: info.HostConfig.NanoCpus ?? 0,
    memoryBytes: info.HostConfig.Memory ?? 0,
    labels,
    image: info.Image,
    mounts: (info.Mounts ?? [])
      .filter((m) => m.Type === 'volume' && typeof m.Name === 'string')
      .map((m) => ({ name: m.Name as string, destination: m.Destination })),
    ...(info.State.Pid > 0 ? { pid: info.State.Pid } : {}),
  };
}

/** A mount set as a comparable key (order does not matter). */
function mountKeys(mounts: ReadonlyArray<{ name: string; destination: string }>): string {
  return mounts
    .map((m) => `${m.name}:${m.destination}`)
    .sort()
    .join('|');
}

function exitCodeFromStatus(status: string): number | null {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : null;
}

function parseEvent(
  line: string,
  ours: (labels: Record<string, string>) => boolean,
): ContainerEvent | null {
  try {
    const raw = JSON.parse(line) as {
      Action?: string;
      status?: string;
      time?: number;
      timeNano?: number;
      Actor?: { Attributes?: Record<string, string> };
    };
    const attributes = raw.Actor?.Attributes ?? {};
    const instanceId = attributes[LABEL_INSTANCE];
    const action = raw.Action ?? raw.status;
    if (!instanceId || !action || !ours(attributes)) return null;
    const exit = attributes.exitCode;
    return {
      instanceId,
      action,
      exitCode: exit !== undefined && /^-?\d+$/.test(exit) ? Number(exit) : null,
      at: new Date(raw.time ? raw.time * 1000 : Date.now()).toISOString(),
    };
  } catch {
    return null;
  }
}

function splitReference(reference: string): [string, string] {
  const colon = reference.lastIndexOf(':');
  if (colon > reference.lastIndexOf('/'))
    return [reference.slice(0, colon), reference.slice(colon + 1)];
  return [reference, 'latest'];
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
