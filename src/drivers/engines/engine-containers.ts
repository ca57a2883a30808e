/**
 * Containers of the managed engines (Redis caches, PostgreSQL databases and their sidecars, the
 * etcd of a Kubernetes cluster's control plane), on dockerode. Every engine runs on the host's
 * network namespace, listening on 127.0.0.1 only, on a port of its own from NIMBUS_ENGINE_PORTS
 * (default 27000-28999); nothing is reachable from outside the machine. An engine only reached
 * through `docker exec` (etcd) runs with no network at all (`network: 'none'`) and takes no port.
 * Names and labels let a reconciler find them:
 *
 *   name    nimbus-<kind>-<resource id>[-<role>]
 *   labels  nimbus.engine=<redis|postgres|etcd>, nimbus.engine-kind=<cache|database|cluster>,
 *           nimbus.engine-resource=<id>, nimbus.engine-role=<server|pgbouncer|exporter|etcd>,
 *           nimbus.engine-port=<port>, nimbus.tenant=<tenant>, nimbus.installation=<installation>
 */
import { createServer } from 'node:net';
import type Dockerode from 'dockerode';

import { KeyedMutex } from '../../common/keyed-mutex';

export const LABEL_ENGINE = 'nimbus.engine';
export const LABEL_ENGINE_KIND = 'nimbus.engine-kind';
export const LABEL_ENGINE_RESOURCE = 'nimbus.engine-resource';
export const LABEL_ENGINE_ROLE = 'nimbus.engine-role';
export const LABEL_ENGINE_PORT = 'nimbus.engine-port';
export const LABEL_TENANT = 'nimbus.tenant';
export const LABEL_INSTALLATION = 'nimbus.installation';

export const ENGINE_HOST = '127.0.0.1';

export interface PortRange {
  first: number;
  last: number;
}

export function parsePortRange(text: string | undefined): PortRange {
  const m = /^(\d{4,5})-(\d{4,5})$/.exec((text ?? '').trim());
  if (!m) return { first: 27000, last: 28999 };
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 1024 || last > 65535 || first > last) return { first: 27000, last: 28999 };
  return { first, last };
}

export interface EngineContainerSpec {
  name: string;
  image: string;
  engine: 'redis' | 'postgres' | 'etcd';
  kind: 'cache' | 'database' | 'cluster';
  resourceId: string;
  tenantId: string;
  role: 'server' | 'pgbouncer' | 'exporter' | 'etcd';
  /** `host` (default): a port of the range on 127.0.0.1; `none`: loopback only, no port taken. */
  network?: 'host' | 'none';
  /** Taken from the range when the container is made; the container's label keeps it. */
  env: (port: number) => string[];
  /** A port the container must have (a sidecar made again keeps its address); else one is taken. */
  port?: number;
  cmd?: string[];
  memoryBytes?: number;
  /** Named volume mounted at `mountPath`. */
  volume?: { name: string; mountPath: string };
  /** More named volumes. */
  volumes?: Array<{ name: string; mountPath: string }>;
}

export interface EngineContainer {
  id: string;
  name: string;
  port: number;
  running: boolean;
  memoryBytes: number;
  labels: Record<string, string>;
}

function isStatus(error: unknown, status: number): boolean {
  return (error as { statusCode?: number } | null)?.statusCode === status;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: ENGINE_HOST, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

export class EngineContainers {
  private readonly allocation = new KeyedMutex();

  constructor(
    private readonly docker: Dockerode,
    private readonly installationId: string,
    private readonly ports: PortRange = parsePortRange(process.env.NIMBUS_ENGINE_PORTS),
  ) {}

  async inspect(name: string): Promise<EngineContainer | null> {
    try {
      const info = await this.docker.getContainer(name).inspect();
      const labels = info.Config.Labels ?? {};
      return {
        id: info.Id,
        name,
        port: Number(labels[LABEL_ENGINE_PORT] ?? 0),
        running: info.State.Running,
        memoryBytes: info.HostConfig.Memory ?? 0,
        labels,
      };
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw error;
    }
  }

  /** Ports held by engine containers of any installation on this Docker engine. */
  private async usedPorts(): Promise<Set<number>> {
    const rows = await this.docker.listContainers({
      all: true,
      filters: { label: [LABEL_ENGINE_PORT] },
    });
    return new Set(rows.map((r) => Number(r.Labels[LABEL_ENGINE_PORT])));
  }

  private async freePort(): Promise<number> {
    const used = await this.usedPorts();
    for (let port = this.ports.first; port <= this.ports.last; port++) {
      if (!used.has(port) && (await portFree(port))) return port;
    }
    throw new Error(`no free engine port in ${this.ports.first}-${this.ports.last}`);
  }

  /** Create-if-absent, then start-if-stopped: a repeat after a crash finds what the first made. */
  async ensureRunning(spec: EngineContainerSpec): Promise<EngineContainer> {
    let existing = await this.inspect(spec.name);
    if (!existing) {
      existing = await this.allocation.run('ports', async () => {
        const again = await this.inspect(spec.name);
        if (again) return again;
        const hostNetwork = (spec.network ?? 'host') === 'host';
        const port = hostNetwork ? (spec.port ?? (await this.freePort())) : 0;
        const volumes = [...(spec.volume ? [spec.volume] : []), ...(spec.volumes ?? [])];
        try {
          await this.docker.createContainer({
            name: spec.name,
            Image: spec.image,
            Env: spec.env(port),
            ...(spec.cmd ? { Cmd: spec.cmd } : {}),
            Labels: {
              [LABEL_ENGINE]: spec.engine,
              [LABEL_ENGINE_KIND]: spec.kind,
              [LABEL_ENGINE_RESOURCE]: spec.resourceId,
              [LABEL_ENGINE_ROLE]: spec.role,
              ...(hostNetwork ? { [LABEL_ENGINE_PORT]: String(port) } : {}),
              [LABEL_TENANT]: spec.tenantId,
              [LABEL_INSTALLATION]: this.installationId,
            },
            HostConfig: {
              NetworkMode: hostNetwork ? 'host' : 'none',
              RestartPolicy: { Name: 'unless-stopped' },
              ...(spec.memoryBytes
                ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes }
                : {}),
              ...(volumes.length > 0
                ? { Binds: volumes.map((v) => `${v.name}:${v.mountPath}`) }
                : {}),
            },
          });
        } catch (error) {
          if (!isStatus(error, 409)) throw error;
        }
        return (await this.inspect(spec.name)) as EngineContainer;
      });
    }
    if (!existing.running) {
      try {
        await this.docker.getContainer(spec.name).start();
      } catch (error) {
        if (!isStatus(error, 304)) throw error;
      }
      existing = { ...existing, running: true };
    }
    return existing;
  }

  async stop(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).stop({ t: 10 });
    } catch (error) {
      if (!isStatus(error, 304) && !isStatus(error, 404)) throw error;
    }
  }

  async start(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).start();
    } catch (error) {
      if (!isStatus(error, 304)) throw error;
    }
  }

  async restart(name: string): Promise<void> {
    await this.docker.getContainer(name).restart({ t: 10 });
  }

  /** Delete-if-present. */
  async remove(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).remove({ force: true, v: false });
    } catch (error) {
      if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
    }
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.docker.getVolume(name).inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await this.docker.createVolume({
        Name: name,
        Labels: { ...labels, [LABEL_INSTALLATION]: this.installationId },
      });
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  /** Runs a command in a running container (argument array, no shell), with extra environment. */
  async exec(
    name: string,
    cmd: string[],
    env: string[] = [],
    user?: string,
  ): Promise<{ exitCode: number; output: string }> {
    const exec = await this.docker.getContainer(name).exec({
      Cmd: cmd,
      Env: env,
      AttachStdout: true,
      AttachStderr: true,
      ...(user ? { User: user } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
  }

  /** A tar stream of `path` in the container (Docker's archive API), streamed, never buffered. */
  async readArchive(name: string, path: string): Promise<NodeJS.ReadableStream> {
    return this.docker.getContainer(name).getArchive({ path });
  }

  /** Extracts a tar stream into the directory `dir` of the container. */
  async writeArchive(name: string, dir: string, tar: NodeJS.ReadableStream): Promise<void> {
    await this.docker.getContainer(name).putArchive(tar, { path: dir });
  }

  async imagePresent(reference: string): Promise<boolean> {
    try {
      await this.docker.getImage(reference).inspect();
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }

  /** Engine containers of this installation (for a reconciler). */
  async list(kind: 'cache' | 'database' | 'cluster'): Promise<EngineContainer[]> {
    const rows = await this.docker.listContainers({
      all: true,
      filters: {
        label: [`${LABEL_ENGINE_KIND}=${kind}`, `${LABEL_INSTALLATION}=${this.installationId}`],
      },
    });
    return rows.map((r) => ({
      id: r.Id,
      name: (r.Names[0] ?? '').replace(/^\//, ''),
      port: Number(r.Labels[LABEL_ENGINE_PORT] ?? 0),
      running: r.State === 'running',
      memoryBytes: 0,
      labels: r.Labels,
    }));
  }
}

/** Docker's multiplexed exec stream: 8-byte headers before each frame. */
function demux(buffer: Buffer): string {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}
