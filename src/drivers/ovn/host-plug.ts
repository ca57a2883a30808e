/**
 * A NIC on this host: a veth pair whose inner end is moved into a network namespace (a
 * container's, or one made with `ip netns add`) and carries the logical port's MAC, IP and
 * default route, and whose host end sits on the integration bridge with
 * `external_ids:iface-id=<logical port>`, which is how ovn-controller binds it.
 *
 * TX checksum offload is turned off on both ends: with Open vSwitch's userspace datapath, TCP
 * otherwise hangs on bad checksums while ping works.
 *
 * Every step checks what is there first, so a plug interrupted anywhere finishes on the next
 * call; the host end is never given an address or a route (the host's root namespace is left as
 * it was).
 *
 * Once ovn-controller has installed the port (`external_ids:ovn-installed` on the interface), the
 * NIC announces its address with one unsolicited ARP from inside its namespace. An address freed
 * by one NIC and given to another (each NIC has a MAC of its own) is otherwise unreachable from
 * neighbours that still cache the old MAC, until their entry goes stale (30 s or more).
 */
import type { NetnsRef, PlugSpec } from '../../network/ports/network-fabric';
import { ExecError, type Exec } from '../exec';
import { checkedIp, checkId, EXT, hostDevices, macAddressOf } from './ovn-names';
import { mapColumn, parseOvsdbTable, quotedPair, stringColumn } from './ovsdb-json';

const COMMAND_TIMEOUT_MS = 15_000;
/** How long a plug waits for ovn-controller to install the port before announcing it anyway. */
const INSTALLED_WAIT_MS = 5_000;
const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export interface HostPort {
  nicId: string;
  device: string;
}

/** Where a namespace's file lives, for `nsenter --net=<path>`. */
export function netnsPath(netns: NetnsRef): string {
  if (netns.kind === 'named') {
    if (!NETNS_NAME.test(netns.name)) throw new Error(`bad namespace name ${netns.name}`);
    return `/var/run/netns/${netns.name}`;
  }
  if (!Number.isInteger(netns.pid) || netns.pid <= 0) throw new Error(`bad pid ${netns.pid}`);
  return `/proc/${netns.pid}/ns/net`;
}

/** What `ip link set ... netns` takes: the namespace's name, or the process id. */
function netnsArgument(netns: NetnsRef): string {
  return netns.kind === 'named' ? netns.name : String(netns.pid);
}

interface LinkInfo {
  ifindex: number;
  ifname: string;
  /** A veth's peer's ifindex (in the peer's namespace). */
  link_index?: number;
}

/** `ip -j link show` output; entries without the fields read here are left out. */
function linksOf(json: string): LinkInfo[] {
  const parsed: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((entry: unknown): LinkInfo[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { ifindex, ifname, link_index } = entry as Record<string, unknown>;
    if (typeof ifindex !== 'number' || typeof ifname !== 'string') return [];
    return [
      { ifindex, ifname, link_index: typeof link_index === 'number' ? link_index : undefined },
    ];
  });
}

export class HostPlumbing {
  constructor(
    private readonly exec: Exec,
    private readonly bridge: string,
    private readonly owner: string,
  ) {}

  async plug(spec: PlugSpec, logicalPort: string): Promise<void> {
    const nicId = checkId('NIC', spec.nicId);
    const hostEnd = hostDevices.hostEnd(nicId);
    const innerEnd = hostDevices.innerEnd(nicId);
    const inner = spec.interfaceName ?? 'eth0';
    if (!IFNAME.test(inner)) throw new Error(`bad interface name ${inner}`);
    const mac = spec.mac ?? macAddressOf(nicId);
    if (!MAC.test(mac)) throw new Error(`bad MAC address ${mac}`);
    const ip = checkedIp(spec.ip);
    const gatewayIp = checkedIp(spec.gatewayIp);
    const prefixLength = spec.prefixLength;
    if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 32) {
      throw new Error(`bad prefix length ${prefixLength}`);
    }
    const path = netnsPath(spec.netns);
    const inside = (args: string[]) => this.run('nsenter', [`--net=${path}`, ...args]);

    if (
      (await this.linkExists(hostEnd)) &&
      !(await this.peerIsIn(hostEnd, path, [inner, innerEnd]))
    ) {
      // The pair of an earlier namespace (a re-created or restarted container): the old
      // namespace may not be gone yet, and its pair with it, so the pair is removed here (and
      // its bridge port: the bridge does not take a new device under an old port's name).
      await this.unplug(nicId);
    }
    if (!(await this.linkExists(hostEnd))) {
      // A lone inner end in the root namespace is a pair cut short: start over.
      if (await this.linkExists(innerEnd)) await this.run('ip', ['link', 'del', 'dev', innerEnd]);
      await this.run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', innerEnd]);
    }
    if (await this.linkExists(innerEnd)) {
      await this.run('ip', ['link', 'set', 'dev', innerEnd, 'netns', netnsArgument(spec.netns)]);
    }
    // One `ip -batch` in the namespace instead of a process per step (each costs ~100 ms on a
    // busy host). Every value in it was checked above: no line can carry another command.
    const batch = [
      ...((await this.linkExists(innerEnd, path))
        ? [`link set dev ${innerEnd} down`, `link set dev ${innerEnd} name ${inner}`]
        : []),
      `link set dev ${inner} address ${mac}`,
      'link set dev lo up',
      `link set dev ${inner} up`,
      `addr replace ${ip}/${prefixLength} dev ${inner}`,
      `route replace default via ${gatewayIp} dev ${inner}`,
    ];
    await this.exec('nsenter', [`--net=${path}`, 'ip', '-batch', '-'], {
      input: `${batch.join('\n')}\n`,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    await inside(['ethtool', '-K', inner, 'tx', 'off']);

    await this.run('ethtool', ['-K', hostEnd, 'tx', 'off']);
    await this.run('ip', ['link', 'set', 'dev', hostEnd, 'up']);
    await this.run('ovs-vsctl', [
      '--timeout=10',
      '--may-exist',
      'add-port',
      this.bridge,
      hostEnd,
      '--',
      'set',
      'interface',
      hostEnd,
      quotedPair('external_ids:iface-id', logicalPort),
      quotedPair(`external_ids:${EXT.nic}`, nicId),
      quotedPair(`external_ids:${EXT.owner}`, this.owner),
    ]);
    await this.announce(hostEnd, path, inner, ip);
  }

  /** One unsolicited ARP for `ip` from inside the namespace, once the port carries packets. */
  private async announce(hostEnd: string, path: string, inner: string, ip: string): Promise<void> {
    const deadline = Date.now() + INSTALLED_WAIT_MS;
    while (Date.now() < deadline) {
      const { stdout } = await this.exec(
        'ovs-vsctl',
        ['--timeout=10', '--if-exists', 'get', 'interface', hostEnd, 'external_ids:ovn-installed'],
        { timeoutMs: COMMAND_TIMEOUT_MS },
      );
      if (stdout.trim().replace(/"/g, '') === 'true') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    try {
      await this.run('nsenter', [
        `--net=${path}`,
        'busybox',
        'arping',
        '-U',
        '-q',
        '-c',
        '1',
        '-w',
        '1',
        '-I',
        inner,
        ip,
      ]);
    } catch {
      // Best effort (no busybox on this host, say): the NIC works; neighbours that cached an
      // earlier MAC for its address learn the new one when their entry goes stale.
    }
  }

  /** Deleting the host end deletes the inner end with it, wherever it is. */
  async unplug(nicId: string): Promise<void> {
    const hostEnd = hostDevices.hostEnd(checkId('NIC', nicId));
    const innerEnd = hostDevices.innerEnd(nicId);
    await this.run('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-port', this.bridge, hostEnd]);
    if (await this.linkExists(hostEnd)) await this.run('ip', ['link', 'del', 'dev', hostEnd]);
    if (await this.linkExists(innerEnd)) await this.run('ip', ['link', 'del', 'dev', innerEnd]);
  }

  /** The host ends this owner put on the bridge (for reconcile and cleanup). */
  async list(): Promise<HostPort[]> {
    const { stdout } = await this.run('ovs-vsctl', [
      '--timeout=10',
      '--format=json',
      '--columns=name,external_ids',
      'find',
      'interface',
      quotedPair(`external_ids:${EXT.owner}`, this.owner),
    ]);
    return parseOvsdbTable(stdout).flatMap((row) => {
      const nicId = mapColumn(row, 'external_ids')[EXT.nic];
      return nicId ? [{ nicId, device: stringColumn(row, 'name') }] : [];
    });
  }

  /**
   * Whether the veth peer of `hostEnd` is one of `names` in the namespace at `netnsPath` (each
   * end names the other's ifindex; checked both ways, since ifindexes repeat across namespaces).
   */
  private async peerIsIn(hostEnd: string, netnsPath: string, names: string[]): Promise<boolean> {
    const [host] = linksOf((await this.run('ip', ['-j', 'link', 'show', 'dev', hostEnd])).stdout);
    if (host?.link_index === undefined) return false;
    const { stdout } = await this.run('nsenter', [
      `--net=${netnsPath}`,
      'ip',
      '-j',
      'link',
      'show',
    ]);
    return linksOf(stdout).some(
      (link) =>
        names.includes(link.ifname) &&
        link.ifindex === host.link_index &&
        link.link_index === host.ifindex,
    );
  }

  private async linkExists(device: string, inNetnsPath?: string): Promise<boolean> {
    const args = ['-o', 'link', 'show', 'dev', device];
    try {
      if (inNetnsPath) await this.run('nsenter', [`--net=${inNetnsPath}`, 'ip', ...args]);
      else await this.run('ip', args);
      return true;
    } catch (error: unknown) {
      // `ip` exits 1 for a device that does not exist; anything else is a real failure.
      if (error instanceof ExecError && error.failure === 'exit' && error.exitCode === 1) {
        return false;
      }
      throw error;
    }
  }

  private run(file: string, args: string[]) {
    return this.exec(file, args, { timeoutMs: COMMAND_TIMEOUT_MS });
  }
}
