/**
 * Traffic for the network benchmark. Every packet starts inside a namespace the bench made or a
 * container it launched (entered with `nsenter --net` or `ip netns exec`) and goes to addresses
 * inside those, or to 127.0.0.1 from the host (published ports). The host's root namespace gets
 * no address and no route: the only host devices made here are veth ends and an OVS bridge, all
 * without addresses. Every command runs with an argument array, never through a shell of the
 * host (the `sh -c` below runs busybox's shell with a fixed script and positional arguments).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import { execCommand } from '../src/drivers/exec';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where a command runs: inside a container's or a bench namespace's network, or on the host. */
export interface Place {
  readonly label: string;
  argv(command: readonly string[]): [string, string[]];
}

export function inPid(pid: number, label = `pid ${pid}`): Place {
  return { label, argv: (c) => ['nsenter', [`--net=/proc/${pid}/ns/net`, ...c]] };
}

export function inNetns(name: string): Place {
  return { label: name, argv: (c) => ['ip', ['netns', 'exec', name, ...c]] };
}

/** The host itself: only ever used for traffic to 127.0.0.1. */
export const onHost: Place = { label: 'host', argv: (c) => [c[0], c.slice(1)] };

/** Children still running, killed by `stopAll` (the bench's `finally`). */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

export function stopAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

function run(place: Place, command: readonly string[], timeoutMs = 30_000) {
  const [file, args] = place.argv(command);
  return execCommand(file, args, { timeoutMs });
}

// ------------------------------------------------------------------ percentiles

function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? NaN;
}

export interface Summary {
  p50: number;
  p95: number;
  min: number;
  max: number;
  samples: number[];
}

/** Latencies in ms (rounded to 1 ms, or to 0.01 ms with `decimals` 2). */
export function summarise(samples: number[], decimals = 0): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(decimals));
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted.at(-1) ?? NaN),
    samples: sorted.map(round),
  };
}

export interface Throughput {
  /** MB/s (10^6 bytes per second). */
  p50: number;
  /** The slow end: 5th percentile of the rates. */
  p5: number;
  min: number;
  max: number;
  samples: number[];
}

export function summariseRates(rates: number[]): Throughput {
  const sorted = [...rates].sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(1));
  return {
    p50: round(percentile(sorted, 50)),
    p5: round(percentile(sorted, 5)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted.at(-1) ?? NaN),
    samples: sorted.map(round),
  };
}

// ------------------------------------------------------------------ ping

/**
 * A ping every 50 ms from `place`; `firstReply` resolves with the time (performance.now()) of
 * the first reply, `replied` says whether one came already.
 */
export function pinger(
  place: Place,
  ip: string,
): { firstReply: Promise<number>; replied(): boolean; stop(): void } {
  const [file, args] = place.argv(['busybox', 'ping', '-i', '0.05', '-W', '1', ip]);
  const child = track(spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] }));
  let got = false;
  const firstReply = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('bytes from')) {
        got = true;
        resolve(performance.now());
      }
    });
    child.on('exit', () =>
      reject(new Error(`ping ${ip} from ${place.label} ended without a reply`)),
    );
  });
  firstReply.catch(() => undefined);
  return { firstReply, replied: () => got, stop: () => child.kill('SIGKILL') };
}

/** `promise`, or a rejection after `ms` naming `what`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ namespaces and links

/** Everything this module made on the host, removed by `removeHostObjects`. */
const made = { netns: new Set<string>(), links: new Set<string>(), bridges: new Set<string>() };

const tag = () => randomBytes(3).toString('hex');

export async function addNetns(prefix: string): Promise<string> {
  const name = `nbench-${prefix}-${tag()}`;
  await execCommand('ip', ['netns', 'add', name]);
  made.netns.add(name);
  await execCommand('ip', ['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
  return name;
}

/** Moves `inner` into `netns` as eth0 with `address`, TX offload off (the userspace datapath). */
async function setUpInner(netns: string, inner: string, address: string): Promise<void> {
  await execCommand('ip', ['link', 'set', 'dev', inner, 'netns', netns]);
  const inside = (args: string[]) => execCommand('ip', ['netns', 'exec', netns, ...args]);
  await inside(['ip', 'link', 'set', 'dev', inner, 'name', 'eth0']);
  await inside(['ip', 'addr', 'add', address, 'dev', 'eth0']);
  await inside(['ethtool', '-K', 'eth0', 'tx', 'off']);
  await inside(['ip', 'link', 'set', 'dev', 'eth0', 'up']);
}

/** A veth whose host end is a port of `bridge` and whose other end is eth0 of a new namespace. */
export async function netnsOnBridge(
  bridge: string,
  prefix: string,
  address: string,
  owner: string,
): Promise<string> {
  const netns = await addNetns(prefix);
  const suffix = tag();
  const hostEnd = `nbo${suffix}`;
  const inner = `nbi${suffix}`;
  await execCommand('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', inner]);
  made.links.add(hostEnd);
  await setUpInner(netns, inner, address);
  await execCommand('ethtool', ['-K', hostEnd, 'tx', 'off']);
  await execCommand('ip', ['link', 'set', 'dev', hostEnd, 'up']);
  await execCommand('ovs-vsctl', [
    '--timeout=10',
    '--may-exist',
    'add-port',
    bridge,
    hostEnd,
    '--',
    'set',
    'interface',
    hostEnd,
    `external_ids:nimbus_owner=${owner}`,
  ]);
  return netns;
}

/** A netdev (userspace datapath) OVS bridge of the bench's own, learning like a switch. */
export async function addNetdevBridge(owner: string): Promise<string> {
  const bridge = `nbbr${tag()}`;
  made.bridges.add(bridge);
  await execCommand('ovs-vsctl', [
    '--timeout=10',
    'add-br',
    bridge,
    '--',
    'set',
    'bridge',
    bridge,
    'datapath_type=netdev',
    `external_ids:nimbus_owner=${owner}`,
  ]);
  return bridge;
}

/** Two new namespaces joined by a plain veth pair (the kernel's path, no OVS). */
export async function vethPair(a: string, b: string): Promise<[string, string]> {
  const left = await addNetns('veth-a');
  const right = await addNetns('veth-b');
  const suffix = tag();
  await execCommand('ip', [
    'link',
    'add',
    `nbva${suffix}`,
    'type',
    'veth',
    'peer',
    'name',
    `nbvb${suffix}`,
  ]);
  made.links.add(`nbva${suffix}`);
  await setUpInner(left, `nbva${suffix}`, a);
  await setUpInner(right, `nbvb${suffix}`, b);
  return [left, right];
}

/** Removes the namespaces, veth ends, bridge ports and bridges made here (errors ignored). */
export async function removeHostObjects(): Promise<void> {
  for (const netns of made.netns) {
    await execCommand('ip', ['netns', 'del', netns]).catch(() => undefined);
  }
  for (const link of made.links) {
    await execCommand('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-port', link]).catch(
      () => undefined,
    );
    // Gone with its namespace already, unless setting it up failed half-way.
    await execCommand('ip', ['link', 'del', 'dev', link]).catch(() => undefined);
  }
  for (const bridge of made.bridges) {
    await execCommand('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', bridge]).catch(
      () => undefined,
    );
  }
  made.netns.clear();
  made.links.clear();
  made.bridges.clear();
}

// ------------------------------------------------------------------ TCP

async function listens(place: Place, port: number): Promise<boolean> {
  const { stdout } = await run(place, ['ss', '-Hltn', `sport = :${port}`]);
  return stdout.trim() !== '';
}

async function untilListening(place: Place, port: number, what: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (await listens(place, port)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port} in ${place.label}`);
}

/**
 * A one-connection busybox `nc -l` in `place` counting what it receives (`wc -c`); its stdin
 * stays open, so it ends when the client's side closes. Resolves once it listens.
 */
async function startSink(place: Place, port: number): Promise<{ received: Promise<number> }> {
  const [file, args] = place.argv([
    'busybox',
    'sh',
    '-c',
    'busybox nc -l -p "$1" | busybox wc -c',
    'sh',
    String(port),
  ]);
  const child = track(spawn(file, args, { stdio: ['pipe', 'pipe', 'ignore'] }));
  const bytes = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', () => {
      const n = Number(out.trim());
      if (out.trim() !== '' && Number.isFinite(n)) resolve(n);
      else reject(new Error(`the sink in ${place.label} ended without a count`));
    });
  });
  bytes.catch(() => undefined);
  try {
    await untilListening(place, port, 'the sink');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { received: bytes.finally(() => child.kill('SIGKILL')) };
}

const BLOCK = 65_536;

/**
 * One transfer of `blocks` x 64 KiB from `from` to `ip:port`, received by a sink in `server` on
 * `sinkPort` (default `port`; another one behind a relay): busybox `dd if=/dev/zero | nc`, timed
 * from the client's start until the sink has counted what arrived (the sink ends when the
 * client's side closes: the client half-closes after its last byte). Bytes counted and seconds.
 */
export async function transferCounted(
  from: Place,
  server: Place,
  ip: string,
  port: number,
  blocks: number,
  sinkPort = port,
): Promise<{ bytes: number; seconds: number }> {
  const { received } = await startSink(server, sinkPort);
  const started = performance.now();
  await run(
    from,
    [
      'busybox',
      'sh',
      '-c',
      'busybox dd if=/dev/zero bs="$1" count="$2" 2>/dev/null | busybox nc "$3" "$4"',
      'sh',
      String(BLOCK),
      String(blocks),
      ip,
      String(port),
    ],
    120_000,
  );
  const bytes = await within(received, 30_000, `the sink in ${server.label}`);
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

/** MB/s of `transferCounted`; a transfer that lost bytes is an error. */
export async function transfer(
  from: Place,
  server: Place,
  ip: string,
  port: number,
  blocks: number,
): Promise<number> {
  const { bytes, seconds } = await transferCounted(from, server, ip, port, blocks);
  if (bytes !== blocks * BLOCK) {
    throw new Error(`${from.label} -> ${ip}:${port}: ${bytes} of ${blocks * BLOCK} bytes arrived`);
  }
  return bytes / 1e6 / seconds;
}

/**
 * A node TCP server in `place` on `port` (node is the host's; `nsenter --net` only changes its
 * network). A connection starts with a 4-byte length; once that many bytes followed, the server
 * answers one byte and closes. The client never half-closes, so a relay's handling of half-closed
 * connections plays no part.
 */
export async function startAckServer(place: Place, port: number): Promise<() => void> {
  const script = `
require('net').createServer((s) => {
  let want = -1, got = 0, head = Buffer.alloc(0);
  s.on('error', () => {});
  s.on('data', (chunk) => {
    if (want < 0) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      want = head.readUInt32BE(0);
      got = head.length - 4;
    } else got += chunk.length;
    if (got >= want) s.end('k');
  });
}).listen(${port}, '0.0.0.0');`;
  const [file, args] = place.argv([process.execPath, '-e', script]);
  const child = track(spawn(file, args, { stdio: ['ignore', 'ignore', 'ignore'] }));
  try {
    await untilListening(place, port, 'the ack server');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return () => child.kill('SIGKILL');
}

/**
 * `count` connections from `place` to `host:port` (a startAckServer), one after the other, each
 * sending `bytes` and timed inside the client (a node process, so its start-up is not counted)
 * from connect until the server's answer: with 1 byte the latency of an exchange, with many a
 * transfer. A 1-byte exchange runs first as a warm-up and is not counted. ms each.
 */
export async function exchanges(
  place: Place,
  host: string,
  port: number,
  count: number,
  bytes = 1,
): Promise<number[]> {
  const script = `
const net = require('net');
const [host, port, count, bytes] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const block = Buffer.alloc(65536);
const one = (bytes) => new Promise((resolve) => {
  const t0 = performance.now();
  const s = net.connect(port, host);
  const timer = setTimeout(() => { s.destroy(); resolve(-1); }, 60000);
  s.on('error', () => { clearTimeout(timer); resolve(-1); });
  s.once('data', () => { clearTimeout(timer); const ms = performance.now() - t0; s.destroy(); resolve(ms); });
  s.on('connect', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(bytes);
    s.write(head);
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!s.write(n === block.length ? block : block.subarray(0, n))) return s.once('drain', pump);
      }
    };
    pump();
  });
});
(async () => {
  const out = [];
  await one(1);
  for (let i = 0; i < count; i += 1) out.push(await one(bytes));
  process.stdout.write(JSON.stringify(out));
})();`;
  const { stdout } = await run(
    place,
    [process.execPath, '-e', script, host, String(port), String(count), String(bytes)],
    300_000,
  );
  const samples = JSON.parse(stdout) as number[];
  if (samples.some((ms) => ms < 0)) {
    throw new Error(`${place.label} -> ${host}:${port}: an exchange failed (${stdout})`);
  }
  return samples;
}

/** Resolves once a TCP connection to 127.0.0.1:port is accepted (a listener exists). */
export async function untilAccepting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts on 127.0.0.1:${port}`);
    await sleep(100);
  }
}

/** A port nothing listens on right now on 127.0.0.1 (the kernel's pick, released at once). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
