/**
 * Network benchmark on real Docker and OVN: how long until traffic flows, and how much of it, each
 * beside a ceiling measured in the same run.
 *
 * - NIC: from `POST /instances` (busybox, into a subnet) to the first ICMP reply the new instance
 *   gives a running instance of the same subnet (a 50 ms ping from inside that instance's
 *   namespace, started once the API shows the new private IP). Beside it: `ovn-nbctl --wait=hv
 *   lsp-add` of a scratch port on the same switch (OVN's own cost of a new port).
 * - Security group rule: from `POST /security-groups/:id/rules` (ICMP from the subnet) to the
 *   first reply through it (a 50 ms ping already running, blocked until then); the rule is
 *   removed between samples. Beside it: `ovn-nbctl --wait=hv acl-add` on a scratch port group.
 * - Elastic IP: from `POST /elastic-ips/:id/associate` to the first reply to a 50 ms ping, already
 *   running, from an "outside" namespace on br-ex (the external network's upstream router) to the
 *   elastic IP; disassociated between samples. Beside it: `ovn-nbctl --wait=hv lr-nat-add
 *   dnat_and_snat` on a scratch router with a gateway port (no localnet: never on the wire).
 * - Peering: from `POST /vpc-peerings/:id/accept` to the first reply to a 50 ms ping, already
 *   running, from an instance of one VPC to one of the other; the peering is deleted between
 *   samples. Beside it: one `ovn-nbctl --wait=hv` linking two scratch routers (a peer router port
 *   pair and a static route on each side).
 * - TCP throughput: two instances of one subnet, two instances across an active peering; beside
 *   two bench namespaces on a netdev OVS bridge of the bench's own (the userspace datapath
 *   without OVN: the ceiling) and two joined by a plain veth pair (the kernel's path). Measured
 *   with busybox `dd | nc` (64 KiB blocks; nc copies through a small buffer) and with a node stream
 *   client and server (64 KiB writes), interleaved path by path. MB/s (10^6 bytes per second).
 * - Published ports: an instance launched with `ports: "<hostPort>:8080,..."`; TCP exchanges
 *   (connect, one byte, the answer's first byte) and transfers to 127.0.0.1:<hostPort> through
 *   the relay, beside the same done inside the instance's namespace (`nsenter --net`) to its own
 *   address; and one busybox `dd | nc` whose client half-closes after its last byte, counting
 *   what arrives either way.
 *
 * p50/p95 of each (throughput: p50 and the slow p5), written to bench/results/network.json; a
 * part that fails is reported there and the others still run. Traffic runs only between the
 * bench's own containers and namespaces (entered with `nsenter` or `ip netns exec`), or to
 * 127.0.0.1 from the host; the API on 127.0.0.1. Everything made (containers, namespaces, veths,
 * the bridge, OVN objects under the bench's own owner mark) is removed at the end, also on failure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { containerNameOf } from '../src/drivers/docker/compute-driver';
import { execCommand } from '../src/drivers/exec';
import { installationFabricOptions, OvnNetworkFabric } from '../src/drivers/ovn/ovn-network-fabric';
import { ovnNames } from '../src/drivers/ovn/ovn-names';
import { upstreamAddress } from '../src/network/domain/public-address-pool';
import {
  addNetdevBridge,
  exchanges,
  freeLoopbackPort,
  inNetns,
  inPid,
  netnsOnBridge,
  onHost,
  pinger,
  removeHostObjects,
  sleep,
  startAckServer,
  stopAll,
  summarise,
  summariseRates,
  transfer,
  transferCounted,
  untilAccepting,
  vethPair,
  within,
  type Place,
  type Summary,
  type Throughput,
} from './network-traffic';
import { startFabricApp } from './fabric-app';
import { environment, listenAndSignUp, writeResults, type BenchApi } from './support';

const SAMPLES = Number(process.env.BENCH_NETWORK_SAMPLES ?? 8);
/** Size of each throughput transfer, in MiB. */
const TRANSFER_MIB = Number(process.env.BENCH_NETWORK_TRANSFER_MIB ?? 48);
const BLOCKS = Math.max(1, Math.round(TRANSFER_MIB * 16));
const LABEL = 'nimbus.bench';
const RUN = `network-${randomUUID().slice(0, 8)}`;
/** The bench's own OVN owner mark and external switch (`<owner>-external`). */
const OWNER = `nbench-${RUN.slice('network-'.length)}`;
/** An external network of the bench's own (198.18.0.0/15 is for tests' "outside"). */
const EIP_POOL = `198.19.${randomBytes(1)[0]}.0/24`;
const VPC_A = { cidr: '10.99.0.0/16', subnet: '10.99.1.0/24' };
const VPC_B = { cidr: '10.98.0.0/16', subnet: '10.98.1.0/24' };
/** How long one sample may wait for its first reply. */
const SAMPLE_TIMEOUT_MS = 30_000;

type Json = Record<string, unknown>;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const nbctl = (args: string[]) => execCommand('ovn-nbctl', ['--timeout=30', ...args]);
const ownerMark = `external_ids:nimbus_owner=${OWNER}`;
const mac = (a: number, b: number) =>
  `02:bb:${[a, b, 0, 1].map((n) => (n & 0xff).toString(16).padStart(2, '0')).join(':')}`;

async function localChassis(): Promise<string> {
  const { stdout } = await execCommand('ovs-vsctl', ['get', 'open', '.', 'external-ids:system-id']);
  return stdout.trim().replace(/^"|"$/g, '');
}

function line(label: string, s: Summary, unit = 'ms'): string {
  return `${label.padEnd(44)} p50 ${String(s.p50).padStart(7)} ${unit}  p95 ${String(s.p95).padStart(7)} ${unit}`;
}

function rateLine(label: string, t: Throughput): string {
  return `${label.padEnd(44)} p50 ${t.p50.toFixed(1).padStart(7)} MB/s  p5 ${t.p5.toFixed(1).padStart(7)} MB/s`;
}

async function main(): Promise<void> {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.ping();
  const { app, dispose } = await startFabricApp('network', {
    NIMBUS_OVN_OWNER: OWNER,
    NIMBUS_EIP_POOL: EIP_POOL,
    NIMBUS_CONTAINER_LABEL: `${LABEL}=${RUN}`,
    NIMBUS_QUOTA_INSTANCES: String(SAMPLES + 14),
    NIMBUS_QUOTA_VCPUS: String(SAMPLES + 14),
    NIMBUS_QUOTA_MEMORY_MB: String((SAMPLES + 14) * 1024),
  });
  const scratchPort = `nimbus-bench-${RUN}`;
  const scratchGroup = `nimbus_bench_${RUN.replace(/-/g, '_')}`;
  const scratch = (name: string) => `${OWNER}-${name}`;
  let switchName = '';
  let call: BenchApi['call'] = () => Promise.reject(new Error('the API is not up'));
  const instanceIds: string[] = [];
  const vpcs: Array<{ vpcId: string; subnetId: string }> = [];
  /** Undone in reverse before the instances and VPCs go (peerings, elastic IPs, gateways). */
  const undo: Array<() => Promise<unknown>> = [];
  const results: Json = {};
  const errors: Record<string, string> = {};
  const report: string[] = [];
  const say = (text: string) => {
    report.push(text);
    console.log(text);
  };

  /** Runs one part; a failure is reported and the next part still runs. */
  const part = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error: unknown) {
      errors[name] = error instanceof Error ? error.message : String(error);
      console.error(`[bench] ${name} failed: ${errors[name]}`);
    } finally {
      stopAll();
    }
  };

  try {
    call = (await listenAndSignUp(app)).call;

    const createVpc = async (name: string, cidrs: { cidr: string; subnet: string }) => {
      const vpc = await call('POST', '/vpcs', { name, cidr_block: cidrs.cidr });
      const subnet = await call('POST', `/vpcs/${String(vpc.id)}/subnets`, {
        name,
        cidr_block: cidrs.subnet,
        availability_zone: 'local-1a',
      });
      vpcs.push({ vpcId: String(vpc.id), subnetId: String(subnet.id) });
      return {
        id: String(vpc.id),
        subnetId: String(subnet.id),
        defaultGroup: String(vpc.default_security_group_id),
      };
    };
    const vpc = await createVpc('bench', VPC_A);
    switchName = ovnNames.switch(vpc.subnetId);

    const launch = async (name: string, subnetId = vpc.subnetId, extra: Json = {}) => {
      const res = await call('POST', '/instances', {
        name,
        image: 'busybox',
        instance_type: 'basic-1',
        subnet_id: subnetId,
        ...extra,
      });
      instanceIds.push(String(res.id));
      return String(res.id);
    };
    const privateIpOf = async (id: string): Promise<string> => {
      for (;;) {
        const res = await call('GET', `/instances/${id}`);
        if (typeof res.private_ip === 'string') return res.private_ip;
        if (res.status === 'ERROR') throw new Error(`launch failed: ${String(res.error_reason)}`);
        await sleep(20);
      }
    };
    const pidOf = async (id: string): Promise<number> => {
      for (;;) {
        const info = await docker.getContainer(containerNameOf(id)).inspect();
        if (info.State.Pid > 0) return info.State.Pid;
        await sleep(20);
      }
    };
    const running = async (id: string): Promise<{ ip: string; pid: number }> => {
      const ip = await privateIpOf(id);
      for (let i = 0; ; i += 1) {
        const res = await call('GET', `/instances/${id}`);
        if (res.status === 'RUNNING') break;
        if (res.status === 'ERROR' || i > 600) {
          throw new Error(`instance ${id} is not RUNNING: ${JSON.stringify(res)}`);
        }
        await sleep(100);
      }
      return { ip, pid: await pidOf(id) };
    };
    const allow = (groupId: string, protocol: 'icmp' | 'tcp', cidr: string) =>
      call('POST', `/security-groups/${groupId}/rules`, {
        direction: 'ingress',
        protocol,
        ...(protocol === 'tcp' ? { port_min: 5000, port_max: 5999 } : {}),
        cidr,
      });

    console.log(
      `network bench on real OVN and Docker: ${SAMPLES} samples each, transfers of ${TRANSFER_MIB} MiB, OVN owner ${OWNER}, external network ${EIP_POOL}`,
    );
    const anchor = await launch('anchor');
    await privateIpOf(anchor);
    const anchorPid = await pidOf(anchor);
    const anchorPlace = inPid(anchorPid, 'anchor');

    // NIC: POST -> first reply from the new instance.
    const nicMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const started = performance.now();
      const id = await launch(`nic-${i}`);
      const ip = await privateIpOf(id);
      const ping = pinger(anchorPlace, ip);
      try {
        nicMs.push((await within(ping.firstReply, 60_000, `nic-${i}`)) - started);
      } finally {
        ping.stop();
      }
    }
    const ovnPortMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      ovnPortMs.push(
        await timed(() =>
          execCommand('ovn-nbctl', ['--wait=hv', 'lsp-add', switchName, `${scratchPort}-${i}`]),
        ),
      );
      await execCommand('ovn-nbctl', ['--if-exists', 'lsp-del', `${scratchPort}-${i}`]);
    }
    const nic = summarise(nicMs);
    const ovnPort = summarise(ovnPortMs);
    say(line('NIC: POST /instances -> first ping', nic));
    say(line('  ceiling: OVN --wait=hv lsp-add', ovnPort));

    // Security group rule: the target only in a group without rules, pinged from a neighbour.
    const group = await call('POST', '/security-groups', { vpc_id: vpc.id, name: 'bench' });
    const target = instanceIds[1];
    const targetIp = await privateIpOf(target);
    await call('POST', '/security-groups/attach', { instance_id: target, group_id: group.id });
    await call('POST', '/security-groups/detach', {
      instance_id: target,
      group_id: vpc.defaultGroup,
    });
    const ruleMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const ping = pinger(anchorPlace, targetIp);
      await sleep(300);
      const started = performance.now();
      const withRule = await call('POST', `/security-groups/${String(group.id)}/rules`, {
        direction: 'ingress',
        protocol: 'icmp',
        cidr: VPC_A.subnet,
      });
      try {
        ruleMs.push((await within(ping.firstReply, SAMPLE_TIMEOUT_MS, `rule ${i}`)) - started);
      } finally {
        ping.stop();
      }
      const rules = withRule.rules as Array<{ id: string }>;
      for (const rule of rules) {
        await call('DELETE', `/security-groups/${String(group.id)}/rules/${rule.id}`);
      }
      await sleep(200);
    }
    await execCommand('ovn-nbctl', ['pg-add', scratchGroup]);
    const ovnAclMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const match = `outport == @${scratchGroup} && icmp4 && ip4.src == 10.250.${i}.0/24`;
      ovnAclMs.push(
        await timed(() =>
          execCommand('ovn-nbctl', [
            '--wait=hv',
            'acl-add',
            scratchGroup,
            'to-lport',
            '1001',
            match,
            'allow-related',
          ]),
        ),
      );
      await execCommand('ovn-nbctl', ['acl-del', scratchGroup, 'to-lport', '1001', match]);
    }
    const rule = summarise(ruleMs);
    const ovnAcl = summarise(ovnAclMs);
    say(line('SG rule: POST rule -> first ping', rule));
    say(line('  ceiling: OVN --wait=hv acl-add', ovnAcl));
    Object.assign(results, {
      nicPostToFirstPingMs: nic,
      ovnWaitHvLspAddMs: ovnPort,
      securityGroupRulePostToTrafficMs: rule,
      ovnWaitHvAclAddMs: ovnAcl,
      ratioNicToOvnPort: Number((nic.p50 / ovnPort.p50).toFixed(2)),
      ratioRuleToOvnAcl: Number((rule.p50 / ovnAcl.p50).toFixed(2)),
    });

    const chassis = await localChassis();

    // Elastic IP: associate -> first reply to a ping from the outside (a namespace on br-ex).
    await part('elasticIp', async () => {
      const igw = await call('POST', '/internet-gateways', {});
      const igwId = String(igw.id);
      undo.push(() => call('DELETE', `/internet-gateways/${igwId}`));
      await call('POST', `/internet-gateways/${igwId}/attach`, { vpc_id: vpc.id });
      undo.push(() => call('POST', `/internet-gateways/${igwId}/detach`));
      const eip = await call('POST', '/elastic-ips', {});
      const eipId = String(eip.id);
      const publicIp = String(eip.public_ip);
      undo.push(() => call('DELETE', `/elastic-ips/${eipId}`));
      undo.push(() => call('POST', `/elastic-ips/${eipId}/disassociate`));
      await allow(vpc.defaultGroup, 'icmp', EIP_POOL);
      const outside = await netnsOnBridge(
        'br-ex',
        'out',
        `${upstreamAddress(EIP_POOL)}/${EIP_POOL.split('/')[1]}`,
        OWNER,
      );
      const outsidePlace = inNetns(outside);
      const eipMs: number[] = [];
      for (let i = 0; i < SAMPLES; i += 1) {
        const ping = pinger(outsidePlace, publicIp);
        await sleep(300);
        if (ping.replied()) throw new Error(`${publicIp} answered before the association`);
        const started = performance.now();
        await call('POST', `/elastic-ips/${eipId}/associate`, { instance_id: anchor });
        try {
          eipMs.push((await within(ping.firstReply, SAMPLE_TIMEOUT_MS, `eip ${i}`)) - started);
        } finally {
          ping.stop();
        }
        await call('POST', `/elastic-ips/${eipId}/disassociate`);
        await sleep(200);
      }
      // OVN's own cost: a scratch router with a gateway port on a scratch switch (no localnet).
      const router = scratch('nat-r');
      const ext = scratch('nat-ext');
      await nbctl([
        'lr-add',
        router,
        '--',
        'set',
        'logical_router',
        router,
        ownerMark,
        '--',
        'ls-add',
        ext,
        '--',
        'set',
        'logical_switch',
        ext,
        ownerMark,
        '--',
        'lrp-add',
        router,
        `${router}-gw`,
        mac(1, 1),
        '192.0.2.1/24',
        '--',
        'lrp-add',
        router,
        `${router}-in`,
        mac(1, 2),
        '10.250.0.1/24',
        '--',
        'lsp-add',
        ext,
        `${ext}-gw`,
        '--',
        'lsp-set-type',
        `${ext}-gw`,
        'router',
        '--',
        'lsp-set-addresses',
        `${ext}-gw`,
        'router',
        '--',
        'lsp-set-options',
        `${ext}-gw`,
        `router-port=${router}-gw`,
        '--',
        'lrp-set-gateway-chassis',
        `${router}-gw`,
        chassis,
        '1',
      ]);
      await nbctl(['--wait=hv', 'sync']);
      const natMs: number[] = [];
      for (let i = 0; i < SAMPLES; i += 1) {
        const external = `192.0.2.${10 + i}`;
        natMs.push(
          await timed(() =>
            nbctl([
              '--wait=hv',
              'lr-nat-add',
              router,
              'dnat_and_snat',
              external,
              `10.250.0.${10 + i}`,
            ]),
          ),
        );
        await nbctl(['lr-nat-del', router, 'dnat_and_snat', external]);
      }
      const eipSummary = summarise(eipMs);
      const nat = summarise(natMs);
      say(line('EIP: POST associate -> first outside ping', eipSummary));
      say(line('  ceiling: OVN --wait=hv lr-nat-add', nat));
      Object.assign(results, {
        eipAssociatePostToFirstPingMs: eipSummary,
        ovnWaitHvLrNatAddMs: nat,
        ratioEipToOvnNat: Number((eipSummary.p50 / nat.p50).toFixed(2)),
      });
    });

    // Peering: accept -> first reply between instances of the two VPCs.
    const sameSubnetPeer = instanceIds[2];
    let peer: { id: string; ip: string; pid: number } | null = null;
    await part('peering', async () => {
      const other = await createVpc('bench-b', VPC_B);
      await allow(other.defaultGroup, 'icmp', VPC_A.cidr);
      await allow(other.defaultGroup, 'tcp', VPC_A.cidr);
      const peerId = await launch('peer-b', other.subnetId);
      const { ip, pid } = await running(peerId);
      const request = async () => {
        const requested = await call('POST', '/vpc-peerings', {
          requester_vpc_id: vpc.id,
          accepter_vpc_id: other.id,
        });
        const id = String(requested.id);
        undo.push(async () => {
          await call('DELETE', `/vpc-peerings/${id}`).catch(() => undefined);
          await until(id, 'deleted').catch(() => undefined);
        });
        return id;
      };
      const statusOf = async (id: string) =>
        call('GET', `/vpc-peerings/${id}`).then(
          (p) => String(p.status),
          () => 'deleted',
        );
      const until = async (id: string, status: string) => {
        for (let i = 0; i < 300; i += 1) {
          const now = await statusOf(id);
          if (now === status) return;
          if (now === 'failed') throw new Error(`peering ${id} failed`);
          await sleep(100);
        }
        throw new Error(`peering ${id} did not become ${status}`);
      };
      const acceptMs: number[] = [];
      for (let i = 0; i < SAMPLES; i += 1) {
        const id = await request();
        const ping = pinger(anchorPlace, ip);
        await sleep(300);
        if (ping.replied()) throw new Error(`${ip} answered before the peering was accepted`);
        const started = performance.now();
        await call('POST', `/vpc-peerings/${id}/accept`);
        try {
          acceptMs.push(
            (await within(ping.firstReply, SAMPLE_TIMEOUT_MS, `peering ${i}`)) - started,
          );
        } finally {
          ping.stop();
        }
        await until(id, 'active');
        await call('DELETE', `/vpc-peerings/${id}`);
        await until(id, 'deleted');
      }
      // OVN's own cost: linking two scratch routers in one transaction, realized.
      const [r1, r2] = [scratch('peer-r1'), scratch('peer-r2')];
      await nbctl([
        'lr-add',
        r1,
        '--',
        'set',
        'logical_router',
        r1,
        ownerMark,
        '--',
        'lr-add',
        r2,
        '--',
        'set',
        'logical_router',
        r2,
        ownerMark,
        '--',
        'lrp-add',
        r1,
        `${r1}-in`,
        mac(2, 1),
        '10.200.1.1/24',
        '--',
        'lrp-add',
        r2,
        `${r2}-in`,
        mac(2, 2),
        '10.201.1.1/24',
      ]);
      await nbctl(['--wait=hv', 'sync']);
      const linkMs: number[] = [];
      for (let i = 0; i < SAMPLES; i += 1) {
        const [p1, p2] = [`${r1}-l${i}`, `${r2}-l${i}`];
        const [ip1, ip2] = [`169.254.250.${4 * i + 1}`, `169.254.250.${4 * i + 2}`];
        linkMs.push(
          await timed(() =>
            nbctl([
              '--wait=hv',
              'lrp-add',
              r1,
              p1,
              mac(3, 2 * i),
              `${ip1}/30`,
              `peer=${p2}`,
              '--',
              'lrp-add',
              r2,
              p2,
              mac(3, 2 * i + 1),
              `${ip2}/30`,
              `peer=${p1}`,
              '--',
              'lr-route-add',
              r1,
              '10.201.0.0/16',
              ip2,
              '--',
              'lr-route-add',
              r2,
              '10.200.0.0/16',
              ip1,
            ]),
          ),
        );
        await nbctl([
          'lr-route-del',
          r1,
          '10.201.0.0/16',
          '--',
          'lr-route-del',
          r2,
          '10.200.0.0/16',
          '--',
          'lrp-del',
          p1,
          '--',
          'lrp-del',
          p2,
        ]);
      }
      const accept = summarise(acceptMs);
      const link = summarise(linkMs);
      say(line('Peering: POST accept -> first ping', accept));
      say(line('  ceiling: OVN --wait=hv link two routers', link));
      Object.assign(results, {
        peeringAcceptPostToFirstPingMs: accept,
        ovnWaitHvRouterLinkMs: link,
        ratioPeeringToOvnLink: Number((accept.p50 / link.p50).toFixed(2)),
      });
      // An active peering for the throughput below.
      const kept = await request();
      await call('POST', `/vpc-peerings/${kept}/accept`);
      await until(kept, 'active');
      peer = { id: peerId, ip, pid };
    });

    // TCP throughput, the paths interleaved sample by sample (the host is shared).
    await part('throughput', async () => {
      const neighbour = await running(sameSubnetPeer);
      const bridge = await addNetdevBridge(OWNER);
      const bridgeA = await netnsOnBridge(bridge, 'br-a', '198.18.251.1/24', OWNER);
      const bridgeB = await netnsOnBridge(bridge, 'br-b', '198.18.251.2/24', OWNER);
      const [vethA, vethB] = await vethPair('198.18.252.1/30', '198.18.252.2/30');
      const paths: Array<{ key: string; label: string; from: Place; to: Place; ip: string }> = [
        {
          key: 'sameSubnet',
          label: 'two instances, one subnet (OVN)',
          from: anchorPlace,
          to: inPid(neighbour.pid, 'neighbour'),
          ip: neighbour.ip,
        },
        ...(peer
          ? [
              {
                key: 'peered',
                label: 'two instances across a peering (OVN)',
                from: anchorPlace,
                to: inPid(peer.pid, 'peer-b'),
                ip: peer.ip,
              },
            ]
          : []),
        {
          key: 'netdevBridge',
          label: '  ceiling: netdev OVS bridge, no OVN',
          from: inNetns(bridgeA),
          to: inNetns(bridgeB),
          ip: '198.18.251.2',
        },
        {
          key: 'vethPair',
          label: '  reference: plain veth pair (kernel)',
          from: inNetns(vethA),
          to: inNetns(vethB),
          ip: '198.18.252.2',
        },
      ];
      // Two tools: busybox dd | nc (as inside an instance; its 1 KiB copy loop is a limit of
      // its own) and a node stream client and server (64 KiB writes), each path both ways.
      const bytes = BLOCKS * 65_536;
      const stops: Array<() => void> = [];
      for (const [n, path] of paths.entries()) stops.push(await startAckServer(path.to, 5300 + n));
      const busybox = new Map<string, number[]>(paths.map((p) => [p.key, []]));
      const node = new Map<string, number[]>(paths.map((p) => [p.key, []]));
      try {
        for (let i = 0; i < SAMPLES; i += 1) {
          for (const [n, path] of paths.entries()) {
            busybox
              .get(path.key)
              ?.push(await transfer(path.from, path.to, path.ip, 5100 + n, BLOCKS));
            const [ms] = await exchanges(path.from, path.ip, 5300 + n, 1, bytes);
            node.get(path.key)?.push(bytes / 1e6 / (ms / 1000));
          }
        }
      } finally {
        for (const stop of stops) stop();
      }
      const out: Json = { transferBytes: bytes, busyboxDdNc: {}, nodeStream: {} };
      for (const [tool, rates] of [
        ['busyboxDdNc', busybox],
        ['nodeStream', node],
      ] as const) {
        say(
          tool === 'busyboxDdNc'
            ? 'TCP throughput, busybox dd | nc:'
            : 'TCP throughput, node stream:',
        );
        const byPath: Json = {};
        for (const path of paths) {
          const t = summariseRates(rates.get(path.key) ?? []);
          byPath[path.key] = t;
          say(rateLine(`  ${path.label}`, t));
        }
        out[tool] = byPath;
      }
      results.throughputMBps = out;
    });

    // Published ports: through the relay on 127.0.0.1 beside the same inside the namespace.
    await part('publishedPorts', async () => {
      const hostPort = await freeLoopbackPort();
      let halfClosePort = await freeLoopbackPort();
      while (halfClosePort === hostPort) halfClosePort = await freeLoopbackPort();
      const id = await launch('published', vpc.subnetId, {
        ports: `${hostPort}:8080,${halfClosePort}:8081`,
      });
      const { ip, pid } = await running(id);
      const inside = inPid(pid, 'published');
      // The listeners follow the read model within a second.
      await untilAccepting(hostPort, 20_000);
      await untilAccepting(halfClosePort, 20_000);
      const stopServer = await startAckServer(inside, 8080);
      const bytes = BLOCKS * 65_536;
      const rate = (ms: number) => bytes / 1e6 / (ms / 1000);
      let relayMs: number[];
      let directMs: number[];
      let relayRates: number[];
      let directRates: number[];
      try {
        relayMs = await exchanges(onHost, '127.0.0.1', hostPort, SAMPLES);
        directMs = await exchanges(inside, ip, 8080, SAMPLES);
        relayRates = (await exchanges(onHost, '127.0.0.1', hostPort, SAMPLES, bytes)).map(rate);
        directRates = (await exchanges(inside, ip, 8080, SAMPLES, bytes)).map(rate);
      } finally {
        stopServer();
      }
      // A client that half-closes after its last byte (busybox `dd | nc`): does all of it arrive?
      const halfClosed = await transferCounted(
        onHost,
        inside,
        '127.0.0.1',
        halfClosePort,
        BLOCKS,
        8081,
      );
      const halfClosedDirect = await transferCounted(inside, inside, ip, 8081, BLOCKS);
      const relay = summarise(relayMs, 2);
      const direct = summarise(directMs, 2);
      const relayRate = summariseRates(relayRates);
      const directRate = summariseRates(directRates);
      say(line('Published port: exchange via 127.0.0.1', relay));
      say(line('  same inside the namespace (nsenter)', direct));
      say(rateLine('Published port: TCP via 127.0.0.1', relayRate));
      say(rateLine('  same inside the namespace (nsenter)', directRate));
      say(
        `Published port, client half-closing (dd | nc): ${halfClosed.bytes} of ${bytes} bytes arrived via 127.0.0.1, ` +
          `${halfClosedDirect.bytes} inside the namespace`,
      );
      results.publishedPorts = {
        exchangeMs: { relay, direct },
        throughputMBps: { relay: relayRate, direct: directRate },
        halfClosedTransfer: {
          sentBytes: bytes,
          receivedViaRelay: halfClosed.bytes,
          receivedDirect: halfClosedDirect.bytes,
        },
      };
    });

    const ratio = (key: string) => {
      const value = results[key];
      return typeof value === 'number' ? value.toFixed(2) : '-';
    };
    say(
      `ratios (p50): NIC / OVN port ${ratio('ratioNicToOvnPort')}, rule / OVN ACL ${ratio('ratioRuleToOvnAcl')}, ` +
        `EIP / OVN NAT ${ratio('ratioEipToOvnNat')}, peering / OVN link ${ratio('ratioPeeringToOvnLink')}`,
    );
    for (const [name, message] of Object.entries(errors)) say(`FAILED ${name}: ${message}`);
    const file = writeResults('network', {
      bench: 'network',
      at: new Date().toISOString(),
      environment: environment(),
      samples: SAMPLES,
      transferMiB: TRANSFER_MIB,
      ...results,
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
    });
    console.log(`\n${report.join('\n')}\nresults written to ${file}`);
    if (Object.keys(errors).length > 0) process.exitCode = 1;
  } finally {
    stopAll();
    for (const step of undo.reverse()) await step().catch(() => undefined);
    for (const id of instanceIds) await call('DELETE', `/instances/${id}`).catch(() => undefined);
    for (const { vpcId, subnetId } of vpcs) {
      await call('DELETE', `/subnets/${subnetId}`).catch(() => undefined);
      const groups: unknown = await call('GET', `/security-groups?vpc_id=${vpcId}`).catch(() => []);
      for (const g of Array.isArray(groups)
        ? (groups as Array<{ id: string; is_default: boolean }>)
        : []) {
        if (!g.is_default) await call('DELETE', `/security-groups/${g.id}`).catch(() => undefined);
      }
      await call('DELETE', `/vpcs/${vpcId}`).catch(() => undefined);
    }
    await execCommand('ovn-nbctl', ['--if-exists', 'pg-del', scratchGroup]).catch(() => undefined);
    await app.close();
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL}=${RUN}`] },
    });
    for (const c of leftovers) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    // Whatever the API left, and the scratch routers and switch: all carry the bench's mark.
    await new OvnNetworkFabric(installationFabricOptions(OWNER))
      .removeEverythingOwned()
      .catch((error: unknown) => console.error('[bench] OVN cleanup failed:', error));
    await removeHostObjects();
    await dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
