/**
 * The machines of the kubeadm driver on Docker: one privileged container per Kubernetes node from
 * the operator's node image (systemd as PID 1, as kind runs its nodes), on a Docker network of
 * the cluster's own where nodes find each other by name. A control-plane node publishes the API
 * server's port on 127.0.0.1 only. Every command runs through `docker exec` with an argument
 * array. Containers and network are labelled with the cluster, so `destroy` finds them all.
 */
import type Dockerode from 'dockerode';

import type { EngineContainers } from '../../drivers/engines/engine-containers';
import { API_SERVER_PORT, type PlannedNode } from './kubeadm-plan';

export const LABEL_CLUSTER = 'nimbus.cluster';
export const LABEL_NODE = 'nimbus.cluster-node';
export const LABEL_NODE_ROLE = 'nimbus.cluster-node-role';

export interface NodeContainerSpec {
  clusterId: string;
  tenantId: string;
  container: string;
  network: string;
  image: string;
  node: PlannedNode;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** What the kubeadm driver needs of the machines; `DockerNodeRuntime` on dockerode. */
export interface NodeRuntime {
  ensureNetwork(name: string, clusterId: string): Promise<void>;
  /** Created if absent, started if stopped. */
  ensureNode(spec: NodeContainerSpec): Promise<void>;
  exec(container: string, args: string[]): Promise<ExecResult>;
  /** The host port (on 127.0.0.1) the API server of a control-plane node is published on. */
  apiServerPort(container: string): Promise<number>;
  /** The node containers of a cluster, by node name. */
  nodesOf(clusterId: string): Promise<PlannedNode[]>;
  removeNode(container: string): Promise<void>;
  removeNetwork(name: string): Promise<void>;
}

function isStatus(error: unknown, status: number): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'statusCode' in error &&
    (error as { statusCode?: number }).statusCode === status
  );
}

export class DockerNodeRuntime implements NodeRuntime {
  constructor(
    private readonly docker: Dockerode,
    private readonly containers: EngineContainers,
  ) {}

  async ensureNetwork(name: string, clusterId: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Labels: { [LABEL_CLUSTER]: clusterId },
      });
    }
  }

  async ensureNode(spec: NodeContainerSpec): Promise<void> {
    const existing = this.docker.getContainer(spec.container);
    try {
      const info = await existing.inspect();
      if (!info.State.Running) await existing.start();
      return;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    const controlPlane = spec.node.role === 'control-plane';
    const apiPort = `${API_SERVER_PORT}/tcp`;
    const created = await this.docker.createContainer({
      name: spec.container,
      Hostname: spec.node.name,
      Image: spec.image,
      Labels: {
        [LABEL_CLUSTER]: spec.clusterId,
        [LABEL_NODE]: spec.node.name,
        [LABEL_NODE_ROLE]: spec.node.role,
        'nimbus.tenant': spec.tenantId,
      },
      ...(controlPlane ? { ExposedPorts: { [apiPort]: {} } } : {}),
      HostConfig: {
        Privileged: true,
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        Tmpfs: { '/run': 'rw', '/tmp': 'rw' },
        Binds: ['/lib/modules:/lib/modules:ro'],
        NetworkMode: spec.network,
        RestartPolicy: { Name: 'unless-stopped' },
        ...(controlPlane
          ? { PortBindings: { [apiPort]: [{ HostIp: '127.0.0.1', HostPort: '' }] } }
          : {}),
      },
      NetworkingConfig: {
        EndpointsConfig: { [spec.network]: { Aliases: [spec.node.name] } },
      },
    });
    await created.start();
  }

  exec(container: string, args: string[]): Promise<ExecResult> {
    return this.containers.exec(container, args);
  }

  async apiServerPort(container: string): Promise<number> {
    const info = await this.docker.getContainer(container).inspect();
    const bound = info.NetworkSettings.Ports?.[`${API_SERVER_PORT}/tcp`]?.[0]?.HostPort;
    const port = Number(bound);
    if (!Number.isInteger(port) || port <= 0) {
      throw new Error(`${container} publishes no API server port`);
    }
    return port;
  }

  async nodesOf(clusterId: string): Promise<PlannedNode[]> {
    const found = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_CLUSTER}=${clusterId}`] },
    });
    return found
      .map((c) => ({
        name: c.Labels[LABEL_NODE] ?? '',
        role: c.Labels[LABEL_NODE_ROLE] === 'control-plane' ? 'control-plane' : 'worker',
      }))
      .filter((n): n is PlannedNode => n.name !== '');
  }

  removeNode(container: string): Promise<void> {
    return this.containers.remove(container);
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }
}
