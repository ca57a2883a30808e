/**
 * Network namespaces a test creates, and traffic between them. Every packet starts inside a
 * namespace made here (`ip netns exec`) and goes to addresses inside namespaces made here; the
 * host's root namespace gets no address and no route.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { ExecError, execCommand } from '../../../src/drivers/exec';

/** Every namespace and host device these helpers make starts with this. */
export const TEST_NETNS_PREFIX = 'nit-';

export async function addNetns(tag: string): Promise<string> {
  const name = `${TEST_NETNS_PREFIX}${tag}-${randomBytes(3).toString('hex')}`;
  await execCommand('ip', ['netns', 'add', name]);
  await execCommand('ip', ['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  await execCommand('ip', ['netns', 'del', name]).catch(() => undefined);
}

/** Namespaces a crashed earlier run of these tests left behind. */
export async function leftoverNetns(): Promise<string[]> {
  const { stdout } = await execCommand('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(TEST_NETNS_PREFIX));
}

function inNetns(netns: string, args: string[]): string[] {
  return ['netns', 'exec', netns, ...args];
}

export async function pings(from: string, ip: string): Promise<boolean> {
  try {
    await execCommand('ip', inNetns(from, ['busybox', 'ping', '-c', '1', '-W', '1', ip]), {
      timeoutMs: 5_000,
    });
    return true;
  } catch (error: unknown) {
    if (error instanceof ExecError && (error.failure === 'exit' || error.failure === 'timeout')) {
      return false;
    }
    throw error;
  }
}

/** Polls `check` until it is true, at most `attempts` times; returns its last answer. */
export async function eventually(
  check: () => Promise<boolean>,
  attempts = 20,
  pauseMs = 250,
): Promise<boolean> {
  for (let i = 0; i < attempts; i += 1) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return false;
}

async function listening(netns: string, port: number): Promise<boolean> {
  const { stdout } = await execCommand('ip', inNetns(netns, ['ss', '-Hltn', `sport = :${port}`]));
  return stdout.trim() !== '';
}

/**
 * A one-connection TCP server in `netns`: resolves `received` with what the client sent, or with
 * null when stopped first. Started only once it listens.
 */
export async function listenOnce(
  netns: string,
  port: number,
): Promise<{ received: Promise<string | null>; stop(): void }> {
  const abort = new AbortController();
  const received = execCommand('ip', inNetns(netns, ['busybox', 'nc', '-l', '-p', String(port)]), {
    signal: abort.signal,
    timeoutMs: 60_000,
  }).then(
    (result) => result.stdout,
    () => null,
  );
  if (!(await eventually(() => listening(netns, port), 40, 100))) {
    abort.abort();
    throw new Error(`the test server in ${netns} did not listen on ${port}`);
  }
  return { received, stop: () => abort.abort() };
}

/**
 * One TCP exchange from `from` to `ip:port`, where a server in `serverNetns` listens: true when
 * the server got the message. A blocked or unrouted connection gives false within ~2 s.
 */
export async function tcpConnects(
  from: string,
  serverNetns: string,
  ip: string,
  port: number,
): Promise<boolean> {
  const server = await listenOnce(serverNetns, port);
  const message = `hello-${randomBytes(4).toString('hex')}`;
  try {
    await execCommand('ip', inNetns(from, ['busybox', 'nc', '-w', '2', ip, String(port)]), {
      input: `${message}\n`,
      timeoutMs: 6_000,
    });
  } catch {
    // A refused or timed-out connection: the server's answer below says what happened.
  }
  const stopper = setTimeout(() => server.stop(), 1_000);
  const got = await server.received;
  clearTimeout(stopper);
  server.stop();
  return got !== null && got.includes(message);
}

/**
 * A TCP connection from `from` to `ip:port` that stays open (busybox nc on both ends, the server
 * in `serverNetns`): `send` writes a line, `arrives` says whether a line reached the server within
 * `withinMs`. For what happens to an established connection when the rules change under it.
 */
export async function tcpSession(
  from: string,
  serverNetns: string,
  ip: string,
  port: number,
): Promise<{
  send(line: string): void;
  arrives(line: string, withinMs: number): Promise<boolean>;
  close(): void;
}> {
  const server = spawn('ip', inNetns(serverNetns, ['busybox', 'nc', '-l', '-p', String(port)]), {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let received = '';
  server.stdout.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  if (!(await eventually(() => listening(serverNetns, port), 40, 100))) {
    server.kill('SIGKILL');
    throw new Error(`the test server in ${serverNetns} did not listen on ${port}`);
  }
  const client = spawn('ip', inNetns(from, ['busybox', 'nc', ip, String(port)]), {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  client.stdin.on('error', () => undefined);
  return {
    send: (line) => client.stdin.write(`${line}\n`),
    async arrives(line, withinMs) {
      const deadline = Date.now() + withinMs;
      while (!received.includes(line) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return received.includes(line);
    },
    close() {
      client.kill('SIGKILL');
      server.kill('SIGKILL');
    },
  };
}

/**
 * The source address a server in `serverNetns` sees for a TCP connection from `from` to
 * `ip:port`, or null when none arrives.
 */
export async function sourceAddressSeen(
  from: string,
  serverNetns: string,
  ip: string,
  port: number,
): Promise<string | null> {
  const abort = new AbortController();
  const script =
    "const s=require('net').createServer(c=>{process.stdout.write(c.remoteAddress+'\\n');c.destroy();s.close()});" +
    `s.listen(${port})`;
  const seen = execCommand('ip', inNetns(serverNetns, [process.execPath, '-e', script]), {
    signal: abort.signal,
    timeoutMs: 60_000,
  }).then(
    (result) => result.stdout.trim().replace(/^::ffff:/, ''),
    () => null,
  );
  try {
    if (!(await eventually(() => listening(serverNetns, port), 100, 100))) return null;
    await execCommand('ip', inNetns(from, ['busybox', 'nc', '-w', '2', ip, String(port)]), {
      input: 'x\n',
      timeoutMs: 6_000,
    }).catch(() => undefined);
    const stopper = setTimeout(() => abort.abort(), 1_000);
    const address = await seen;
    clearTimeout(stopper);
    return address;
  } finally {
    abort.abort();
  }
}

/**
 * A namespace on an external bridge (the "outside" of an internet gateway): a veth whose host
 * end is on `bridge`, marked with `external_ids:nimbus_owner=<owner>` for cleanup.
 */
export async function addOutsideNetns(
  bridge: string,
  owner: string,
  address: string,
): Promise<{ netns: string; hostEnd: string }> {
  const netns = await addNetns('out');
  const suffix = randomBytes(4).toString('hex');
  const hostEnd = `nito${suffix}`;
  const inner = `niti${suffix}`;
  await execCommand('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', inner]);
  await execCommand('ip', ['link', 'set', 'dev', inner, 'netns', netns]);
  const inside = (args: string[]) => execCommand('ip', inNetns(netns, args));
  await inside(['ip', 'link', 'set', 'dev', inner, 'name', 'eth0']);
  await inside(['ip', 'addr', 'add', address, 'dev', 'eth0']);
  await inside(['ethtool', '-K', 'eth0', 'tx', 'off']);
  await inside(['ip', 'link', 'set', 'dev', 'eth0', 'up']);
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
  return { netns, hostEnd };
}

/** Host devices on any bridge marked with `owner` (from addOutsideNetns or the fabric). */
export async function removeOwnedBridgePorts(owner: string): Promise<void> {
  const { stdout } = await execCommand('ovs-vsctl', [
    '--timeout=10',
    '--bare',
    '--columns=name',
    'find',
    'interface',
    `external_ids:nimbus_owner=${owner}`,
  ]);
  for (const device of stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)) {
    await execCommand('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-port', device]);
    await execCommand('ip', ['link', 'del', 'dev', device]).catch(() => undefined);
  }
}
