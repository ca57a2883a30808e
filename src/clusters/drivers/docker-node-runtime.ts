/**
 * The machines of the kubeadm driver on Docker: one privileged container per Kubernetes node from
 * the operator's node image (systemd as PID 1, as kind runs its nodes), with no Docker network:
 * its one interface is a NIC in the cluster's subnet (the networking context's `MachineNics`: an
 * address of the subnet, a logical switch port in the VPC's default security group, a veth in
 * the container's namespace), so nodes reach each other, and the VPC's instances reach them, on
 * the VPC's own addresses through OVN. Each node container is an instance of the tenant managed
 * by the cluster (compute's `ManagedInstances`), whose id is also its NIC's.
 *
 * Nimbus reaches a node's API server through a relay: a listener on 127.0.0.1 whose connections
 * are carried from inside the node's network namespace (`NamespaceConnector`), as published
 * ports of instances are; nothing on the host is routed into the VPC. Every command runs through
 * `docker exec` with an argument array. Containers are labelled with the cluster, node, subnet
 * and tenant, and their ids name their instances and NICs, so `nodesOf` and `removeNode` find
 * everything again after a restart.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

import type Dockerode from 'dockerode';

import { uuidV5 } from '../../common/ids';
import type { NamespaceConnector } from '../../drivers/docker/namespace-connector';
import type { EngineContainers } from '../../drivers/engines/engine-containers';
import type { ManagedInstances } from '../../compute/ports/managed-instances';
import type { MachineNic, MachineNics } from '../../network/ports/machine-nics';
import { systemContext } from '../../platform/commands/system-context';
import type { PlannedNode } from './kubeadm-plan';

export const LABEL_CLUSTER = 'nimbus.cluster';
export const LABEL_NODE = 'nimbus.cluster-node';
export const LABEL_NODE_ROLE = 'nimbus.cluster-node-role';
export const LABEL_NIC = 'nimbus.nic';
export const LABEL_SUBNET = 'nimbus.subnet';
export const LABEL_TENANT = 'nimbus.tenant';

export interface NodeContainerSpec {
  clusterId: string;
  /** The cluster's name: the node's instance is `<cluster name>-<node>`. */
  clusterName: string;
  tenantId: string;
  vpcId: string;
  /** The subnet of the cluster's VPC the node's NIC takes its address in. */
  subnetId: string;
  container: string;
  image: string;
  node: PlannedNode;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** What the kubeadm driver needs of the machines; `DockerNodeRuntime` on dockerode. */
export interface NodeRuntime {
  /**
   * Created if absent, started if stopped, its NIC attached and plugged into its namespace;
   * answers the node's address in the subnet.
   */
  ensureNode(spec: NodeContainerSpec): Promise<string>;
  exec(container: string, args: string[]): Promise<ExecResult>;
  /** Copies the file `path` of one node into the directory `dir` of another (made if absent). */
  copyFile(from: string, path: string, to: string, dir: string): Promise<void>;
  /** A port on 127.0.0.1 relayed to `port` on the node's own loopback (its API server). */
  relayedPort(container: string, port: number): Promise<number>;
  /** The node containers of a cluster. */
  nodesOf(clusterId: string): Promise<PlannedNode[]>;
  /** Its NIC detached (address released), its relay closed, the container removed. */
  removeNode(container: string): Promise<void>;
}

/** Linux capabilities by number (capability.h), as Docker names them. */
const CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** The capability bounding set of this process (`CapBnd` of /proc/self/status), if readable. */
export function hostCapabilityBound(): bigint | null {
  try {
    const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return line?.[1] ? BigInt(`0x${line[1]}`) : null;
  } catch {
    return null;
  }
}

/**
 * How a node container is privileged. A node needs what kind's nodes get (`Privileged`: every
 * capability, every device, /proc and /sys unmasked). A host that itself lacks capabilities (a
 * nested, sandboxed Docker: here CAP_SYS_RESOURCE) cannot start a privileged container at all,
 * so there the node gets every capability the host has, every device and unmasked system paths.
 */
export function nodePrivileges(bound: bigint | null): Dockerode.HostConfig {
  const unconfined = ['seccomp=unconfined', 'apparmor=unconfined'];
  const missing =
    bound === null ? [] : CAPABILITIES.filter((_, bit) => (bound & (1n << BigInt(bit))) === 0n);
  if (missing.length === 0) return { Privileged: true, SecurityOpt: unconfined };
  return {
    CapAdd: ['ALL'],
    CapDrop: [...missing],
    SecurityOpt: unconfined,
    // /proc and /sys unmasked, as `--security-opt systempaths=unconfined` does.
    MaskedPaths: [],
    ReadonlyPaths: [],
    DeviceCgroupRules: ['a *:* rwm'],
  };
}

/**
 * The instance a node container is recorded as, and its NIC's id: one per container, so a node
 * made again (scale down, then up) is a new instance, as a replaced machine is, and a subnet or
 * VPC that cannot be deleted names instances the tenant can look up.
 */
export function nodeInstanceId(containerId: string): string {
  return uuidV5(`cluster-node-instance/${containerId}`);
}

/** A node made before its NIC was named by its instance carries its NIC id in a label. */
function nicIdOf(info: Dockerode.ContainerInspectInfo, instanceId: string): string {
  return info.Config.Labels?.[LABEL_NIC] ?? instanceId;
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
  /** Relays by container and node port. */
  private readonly relays = new Map<string, { server: Server; port: number }>();

  private readonly privileges: Dockerode.HostConfig;

  constructor(
    private readonly docker: Dockerode,
    private readonly containers: EngineContainers,
    private readonly nics: MachineNics,
    private readonly instances: ManagedInstances,
    private readonly connector: NamespaceConnector,
    capabilityBound: bigint | null = hostCapabilityBound(),
  ) {
    this.privileges = nodePrivileges(capabilityBound);
  }

  async ensureNode(spec: NodeContainerSpec): Promise<string> {
    const container = await this.ensureContainer(spec);
    const info = await container.inspect();
    const instanceId = nodeInstanceId(info.Id);
    const nic: MachineNic = {
      nicId: nicIdOf(info, instanceId),
      tenantId: spec.tenantId,
      subnetId: spec.subnetId,
    };
    if (!info.State.Running) await container.start();
    // The commands are named by the container, so a step repeated for this container appends
    // nothing twice; a node made again (scale down, then up) is a new machine with a new NIC.
    const attached = await this.nics.attach(nic, this.nicContext(spec.tenantId, nic, info.Id));
    // A container started just now has a process (and a namespace) the first look did not see.
    const pid = info.State.Running ? info.State.Pid : (await container.inspect()).State.Pid;
    await this.nics.plug(nic, { kind: 'pid', pid });
    await this.instances.register(
      {
        instanceId,
        tenantId: spec.tenantId,
        name: `${spec.clusterName}-${spec.node.name}`,
        managedBy: { kind: 'cluster', id: spec.clusterId, role: spec.node.name },
        imageReference: spec.image,
        containerId: info.Id,
        vpcId: spec.vpcId,
        subnetId: spec.subnetId,
        privateIp: attached.privateIp,
      },
      this.instanceContext(spec.tenantId, spec.clusterId, info.Id, 'register'),
    );
    return attached.privateIp;
  }

  private instanceContext(
    tenantId: string,
    clusterId: string | undefined,
    containerId: string,
    step: 'register' | 'remove',
  ) {
    return systemContext('cluster-nodes', {
      tenantId,
      ...(clusterId ? { correlationId: clusterId } : {}),
      commandId: uuidV5(`cluster-node-instance/${containerId}/${step}`),
    });
  }

  private async ensureContainer(spec: NodeContainerSpec): Promise<Dockerode.Container> {
    const existing = this.docker.getContainer(spec.container);
    try {
      await existing.inspect();
      return existing;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    return this.docker.createContainer({
      name: spec.container,
      Hostname: spec.node.name,
      Image: spec.image,
      Labels: {
        [LABEL_CLUSTER]: spec.clusterId,
        [LABEL_NODE]: spec.node.name,
        [LABEL_NODE_ROLE]: spec.node.role,
        [LABEL_SUBNET]: spec.subnetId,
        [LABEL_TENANT]: spec.tenantId,
      },
      HostConfig: {
        ...this.privileges,
        Tmpfs: { '/run': 'rw', '/tmp': 'rw' },
        Binds: ['/lib/modules:/lib/modules:ro'],
        // Its only interface is the NIC in the VPC, plugged once it runs.
        NetworkMode: 'none',
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
  }

  private nicContext(tenantId: string, nic: MachineNic, containerId: string, detach = false) {
    return systemContext('cluster-nodes', {
      tenantId,
      correlationId: nic.nicId,
      commandId: uuidV5(
        `cluster-node-nic/${nic.nicId}/${containerId}/${detach ? 'detach' : 'attach'}`,
      ),
    });
  }

  exec(container: string, args: string[]): Promise<ExecResult> {
    return this.containers.exec(container, args);
  }

  async copyFile(from: string, path: string, to: string, dir: string): Promise<void> {
    const made = await this.containers.exec(to, ['mkdir', '-p', dir]);
    if (made.exitCode !== 0) throw new Error(`mkdir ${dir} in ${to} failed: ${made.output.trim()}`);
    // Docker's archive API: a tar stream of the one file, streamed from node to node.
    await this.containers.writeArchive(to, dir, await this.containers.readArchive(from, path));
  }

  async relayedPort(container: string, port: number): Promise<number> {
    const key = `${container}:${port}`;
    const open = this.relays.get(key);
    if (open) return open.port;
    if (this.connector.unavailableReason !== null) {
      throw new Error(`the API server cannot be relayed: ${this.connector.unavailableReason}`);
    }
    const server = createServer({ allowHalfOpen: true }, (client) => {
      // The namespace of the node as it runs now (a restarted container has a new one).
      this.docker
        .getContainer(container)
        .inspect()
        .then((info) => {
          if (!info.State.Running) throw new Error(`${container} is not running`);
          this.connector.relay(client, info.State.Pid, '127.0.0.1', port);
        })
        .catch(() => client.destroy());
    });
    const listening = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    server.unref();
    // Two callers at once: the first listener wins, the other is closed.
    const raced = this.relays.get(key);
    if (raced) {
      server.close();
      return raced.port;
    }
    this.relays.set(key, { server, port: listening });
    return listening;
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

  async removeNode(container: string): Promise<void> {
    for (const [key, relay] of this.relays) {
      if (key.startsWith(`${container}:`)) {
        relay.server.close();
        this.relays.delete(key);
      }
    }
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(container).inspect();
    } catch (error) {
      if (isStatus(error, 404)) return;
      throw error;
    }
    const labels = info.Config.Labels ?? {};
    const nicId = nicIdOf(info, nodeInstanceId(info.Id));
    const subnetId = labels[LABEL_SUBNET];
    const tenantId = labels[LABEL_TENANT];
    if (subnetId && tenantId) {
      const nic = { nicId, subnetId, tenantId };
      await this.nics.detach(nic, this.nicContext(tenantId, nic, info.Id, true));
    }
    // Recorded before the container goes: a crash in between finds the container again next
    // time, and the removal recorded already appends nothing.
    if (tenantId) {
      await this.instances.remove(
        nodeInstanceId(info.Id),
        this.instanceContext(tenantId, labels[LABEL_CLUSTER], info.Id, 'remove'),
      );
    }
    await this.containers.remove(container);
  }
}
