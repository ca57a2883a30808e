/**
 * Cluster node benchmark on real Docker and OVN: what placing a kubeadm cluster's machine on the
 * VPC costs, beside what Docker alone costs for the same container, measured in the same run.
 *
 * - Node placed: `DockerNodeRuntime.ensureNode` of a worker (its container created and started,
 *   its NIC attached in the subnet: address appended, logical port realized with `--wait=hv`,
 *   veth plugged into its namespace) until the first ICMP reply it gives a node already running
 *   (a 1 s ping repeated from inside that node). No Kubernetes node image can be built here, so
 *   the node is of a stand-in image (busybox, sleeping): this is the machine, not kubeadm.
 * - Beside it: the same container (same privileges, no network) created and started through
 *   dockerode, until a `docker exec true` in it returns: the floor the engine sets.
 * - Node removed: `removeNode` (NIC detached, address released, container removed).
 * - The API server's relay: a TCP exchange (connect, one line, its echo) through the relay on
 *   127.0.0.1 to an echo server on the node's loopback, beside the relay's fixed cost per
 *   connection: `nsenter --net` into the node running `true` (socat's own start comes on top).
 *
 * p50/p95 of each, written to bench/results/clusters.json. BENCH_CLUSTERS_SAMPLES (default 8).
 * Traffic runs between the bench's own containers, or to 127.0.0.1. Everything made (containers,
 * the VPC and its subnet, OVN objects under the bench's own owner mark) is removed at the end.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import Dockerode from 'dockerode';

import {
  DockerNodeRuntime,
  hostCapabilityBound,
  LABEL_CLUSTER,
  nodePrivileges,
} from '../src/clusters/drivers/docker-node-runtime';
import { nodeContainerName } from '../src/clusters/drivers/kubeadm-plan';
import { NsenterConnector } from '../src/drivers/docker/namespace-connector';
import { EngineContainers } from '../src/drivers/engines/engine-containers';
import { execCommand } from '../src/drivers/exec';
import { MANAGED_INSTANCES, type ManagedInstances } from '../src/compute/ports/managed-instances';
import { MACHINE_NICS, type MachineNics } from '../src/network/ports/machine-nics';
import { startFabricApp } from './fabric-app';
import { summarise, type Summary } from './network-traffic';
import { environment, listenAndSignUp, writeResults, type BenchApi } from './support';

const SAMPLES = Number(process.env.BENCH_CLUSTERS_SAMPLES ?? 8);
const RUN = `clusters-${randomUUID().slice(0, 8)}`;
const OWNER = `cbench-${RUN.slice('clusters-'.length)}`;
const STAND_IN = 'nimbus-bench/cluster-node-stand-in:latest';
const ECHO_PORT = 6443;

function line(label: string, s: Summary): string {
  return `${label.padEnd(44)} p50 ${String(s.p50).padStart(7)} ms  p95 ${String(s.p95).padStart(7)} ms`;
}

async function standInImage(docker: Dockerode): Promise<void> {
  const base = await docker.createContainer({ Image: 'nimbus/busybox:latest', Cmd: ['true'] });
  try {
    await base.commit({
      repo: STAND_IN.split(':')[0],
      tag: 'latest',
      changes: 'CMD ["sleep","86400"]',
    });
  } finally {
    await base.remove({ force: true });
  }
}

async function succeeds(file: string, args: string[]): Promise<boolean> {
  try {
    await execCommand(file, args, { timeoutMs: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** One line sent to 127.0.0.1:`port` and the first bytes of its echo read back: the ms. */
function exchangeOnLoopback(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('ping\n'));
    socket.once('data', () => {
      resolve(performance.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function main(): Promise<void> {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.ping();
  await standInImage(docker);
  const { app, dispose } = await startFabricApp('clusters', {
    NIMBUS_OVN_OWNER: OWNER,
  });
  const clusterId = randomUUID();
  const runtime = new DockerNodeRuntime(
    docker,
    new EngineContainers(docker, `bench-${RUN}`),
    app.get<MachineNics>(MACHINE_NICS),
    app.get<ManagedInstances>(MANAGED_INSTANCES),
    new NsenterConnector(),
  );
  let call: BenchApi['call'] = () => Promise.reject(new Error('the API is not up'));
  let vpcId = '';
  let subnetId = '';
  try {
    const api = await listenAndSignUp(app);
    call = api.call;
    const tenantId = api.tenantId;
    vpcId = String((await call('POST', '/vpcs', { name: 'bench', cidr_block: '10.97.0.0/16' })).id);
    subnetId = String(
      (
        await call('POST', `/vpcs/${vpcId}/subnets`, {
          name: 'nodes',
          cidr_block: '10.97.1.0/24',
          availability_zone: 'local-1a',
        })
      ).id,
    );
    const spec = (name: string, role: 'control-plane' | 'worker') => ({
      clusterId,
      clusterName: 'bench',
      tenantId,
      vpcId,
      subnetId,
      container: nodeContainerName(clusterId, name),
      image: STAND_IN,
      node: { name, role },
    });
    const peer = spec('control-plane-0', 'control-plane');
    await runtime.ensureNode(peer);

    const placed: number[] = [];
    const ensured: number[] = [];
    const removed: number[] = [];
    const raw: number[] = [];
    const privileges = nodePrivileges(hostCapabilityBound());
    // A warm-up of each, not measured.
    for (let i = -1; i < SAMPLES; i++) {
      const worker = spec(`worker-${i + 1}`, 'worker');
      const started = performance.now();
      const ip = await runtime.ensureNode(worker);
      const ensuredMs = performance.now() - started;
      const ping = ['exec', peer.container, 'ping', '-c', '1', '-W', '1', ip];
      while (!(await succeeds('docker', ping))) {
        if (performance.now() - started > 30_000) {
          const addresses = async (c: string) =>
            (await execCommand('docker', ['exec', c, 'ip', '-o', 'addr'])).stdout;
          throw new Error(
            `no reply from ${ip}: ${await addresses(peer.container)} / ${await addresses(worker.container)}`,
          );
        }
      }
      const placedMs = performance.now() - started;
      const removing = performance.now();
      await runtime.removeNode(worker.container);
      const removedMs = performance.now() - removing;

      const rawStarted = performance.now();
      const container = await docker.createContainer({
        name: `${RUN}-raw-${i + 1}`,
        Image: STAND_IN,
        Labels: { [LABEL_CLUSTER]: clusterId },
        HostConfig: { ...privileges, NetworkMode: 'none' },
      });
      await container.start();
      await execCommand('docker', ['exec', `${RUN}-raw-${i + 1}`, 'true']);
      const rawMs = performance.now() - rawStarted;
      await container.remove({ force: true });
      if (i >= 0) {
        placed.push(placedMs);
        ensured.push(ensuredMs);
        removed.push(removedMs);
        raw.push(rawMs);
      }
    }

    // The relay: an echo server in the peer on its loopback port 6443.
    // It ends with the node's container, in the clean-up.
    void execCommand(
      'docker',
      ['exec', peer.container, 'nc', '-ll', '-p', String(ECHO_PORT), '-e', 'cat'],
      { timeoutMs: 600_000 },
    ).catch(() => undefined);
    const relayPort = await runtime.relayedPort(peer.container, ECHO_PORT);
    const pid = String((await docker.getContainer(peer.container).inspect()).State.Pid);
    const listening = ['exec', peer.container, 'sh', '-c', `netstat -ltn | grep -q :${ECHO_PORT}`];
    while (!(await succeeds('docker', listening))) await new Promise((r) => setTimeout(r, 100));
    const relayed: number[] = [];
    const entered: number[] = [];
    for (let i = -1; i < SAMPLES * 4; i++) {
      const throughRelay = await exchangeOnLoopback(relayPort);
      const enterStarted = performance.now();
      await execCommand('nsenter', ['--target', pid, '--net', '--', 'true']);
      const enterMs = performance.now() - enterStarted;
      if (i >= 0) {
        relayed.push(throughRelay);
        entered.push(enterMs);
      }
    }

    const summary = {
      nodePlacedToFirstPing: summarise(placed),
      ensureNodeReturned: summarise(ensured),
      rawContainerStarted: summarise(raw),
      nodeRemoved: summarise(removed),
      relayExchange: summarise(relayed, 2),
      nsenterIntoNode: summarise(entered, 2),
    };
    console.log(`cluster node bench on real Docker and OVN: ${SAMPLES} samples, owner ${OWNER}`);
    console.log(line('node placed -> first ping from a node', summary.nodePlacedToFirstPing));
    console.log(line('  of which ensureNode (container, NIC, plug)', summary.ensureNodeReturned));
    console.log(line('  floor: same container, no NIC (dockerode)', summary.rawContainerStarted));
    console.log(line('node removed (NIC detached, container gone)', summary.nodeRemoved));
    console.log(line('API relay: 127.0.0.1 exchange', summary.relayExchange));
    console.log(line('  fixed cost: nsenter --net true', summary.nsenterIntoNode));
    const ratio = Number(
      (summary.nodePlacedToFirstPing.p50 / summary.rawContainerStarted.p50).toFixed(2),
    );
    console.log(`placement over the floor (p50): ${ratio}`);
    const file = writeResults('clusters', {
      at: new Date().toISOString(),
      environment: environment(),
      samples: SAMPLES,
      summary,
      placementOverFloor: ratio,
    });
    console.log(`results written to ${file}`);
  } finally {
    for (const node of await runtime.nodesOf(clusterId).catch(() => [])) {
      await runtime.removeNode(nodeContainerName(clusterId, node.name)).catch(() => undefined);
    }
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_CLUSTER}=${clusterId}`] },
    });
    for (const c of leftovers)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    if (subnetId) await call('DELETE', `/subnets/${subnetId}`).catch(() => undefined);
    if (vpcId) await call('DELETE', `/vpcs/${vpcId}`).catch(() => undefined);
    await execCommand('docker', ['rmi', STAND_IN]).catch(() => undefined);
    await app.close();
    await dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
