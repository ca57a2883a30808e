/**
 * Traffic from and to instances' containers for the network e2e tests. Every packet starts
 * inside a container the test launched (`docker exec`) or a namespace the test created
 * (`ip netns exec`), and goes to addresses of those.
 */
import { randomBytes } from 'node:crypto';
import { containerNameOf } from '../../src/drivers/docker/compute-driver';
import { ExecError, execCommand } from '../../src/drivers/exec';
import { ovnNames } from '../../src/drivers/ovn/ovn-names';

function failedRun(error: unknown): boolean {
  return error instanceof ExecError && (error.failure === 'exit' || error.failure === 'timeout');
}

/** `ping` from inside the instance's container; true when a reply came. */
export async function pingsFrom(instanceId: string, ip: string): Promise<boolean> {
  try {
    await execCommand(
      'docker',
      ['exec', containerNameOf(instanceId), 'ping', '-c', '1', '-W', '1', ip],
      { timeoutMs: 5_000 },
    );
    return true;
  } catch (error: unknown) {
    if (failedRun(error)) return false;
    throw error;
  }
}

export async function until(
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

/** Whether a TCP server in the instance's container listens on `port`. */
export async function containerListens(instanceId: string, port: number): Promise<boolean> {
  const { stdout } = await execCommand('docker', [
    'exec',
    containerNameOf(instanceId),
    'netstat',
    '-ltn',
  ]);
  return stdout.includes(`:${port} `);
}

/**
 * One TCP exchange from the outside namespace `from` to `ip:port`, served by `nc` in the
 * instance's container: true when the server got the message (within `attempts` tries).
 */
export async function outsideReachesInstance(
  from: string,
  instanceId: string,
  ip: string,
  port: number,
  attempts = 1,
): Promise<boolean> {
  const abort = new AbortController();
  const received = execCommand(
    'docker',
    ['exec', containerNameOf(instanceId), 'timeout', '30', 'nc', '-l', '-p', String(port)],
    { signal: abort.signal, timeoutMs: 40_000 },
  ).then(
    (result) => result.stdout,
    () => '',
  );
  const message = `hello-${randomBytes(4).toString('hex')}`;
  try {
    if (!(await until(() => containerListens(instanceId, port), 40, 100))) {
      throw new Error(`the test server in ${instanceId} did not listen on ${port}`);
    }
    for (let i = 0; i < attempts; i += 1) {
      await execCommand(
        'ip',
        ['netns', 'exec', from, 'busybox', 'nc', '-w', '2', ip, String(port)],
        {
          input: `${message}\n`,
          timeoutMs: 6_000,
        },
      ).catch(() => undefined);
      const got = await Promise.race([
        received,
        new Promise<string>((resolve) => setTimeout(() => resolve(''), 500)),
      ]);
      if (got.includes(message)) return true;
    }
    return false;
  } finally {
    abort.abort();
    // The server inside the container outlives the aborted `docker exec`; stop it.
    await execCommand('docker', [
      'exec',
      containerNameOf(instanceId),
      'pkill',
      '-f',
      `nc -l -p ${port}`,
    ]).catch(() => undefined);
  }
}

/**
 * The source address a server in the namespace `serverNetns` sees for a TCP connection from the
 * instance's container to `ip:port`, or null when none arrives.
 */
export async function sourceSeenFromInstance(
  instanceId: string,
  serverNetns: string,
  ip: string,
  port: number,
): Promise<string | null> {
  const abort = new AbortController();
  const script =
    "const s=require('net').createServer(c=>{process.stdout.write(c.remoteAddress+'\\n');c.destroy();s.close()});" +
    `s.listen(${port})`;
  const seen = execCommand('ip', ['netns', 'exec', serverNetns, process.execPath, '-e', script], {
    signal: abort.signal,
    timeoutMs: 60_000,
  }).then(
    (result) => result.stdout.trim().replace(/^::ffff:/, ''),
    () => null,
  );
  const listening = async () => {
    const { stdout } = await execCommand('ip', [
      'netns',
      'exec',
      serverNetns,
      'ss',
      '-Hltn',
      `sport = :${port}`,
    ]);
    return stdout.trim() !== '';
  };
  try {
    if (!(await until(listening, 100, 100))) return null;
    await execCommand(
      'docker',
      ['exec', '-i', containerNameOf(instanceId), 'nc', '-w', '2', ip, String(port)],
      { input: 'x\n', timeoutMs: 6_000 },
    ).catch(() => undefined);
    const stopper = setTimeout(() => abort.abort(), 1_000);
    const address = await seen;
    clearTimeout(stopper);
    return address || null;
  } finally {
    abort.abort();
  }
}

/**
 * `sourceSeenFromInstance` tried up to `attempts` times until it reports `expected`: a route or
 * NAT rule the API accepted reaches the data plane a moment later (ovn-northd, then the
 * chassis), so a test that looks for a change waits for it. Returns the last source seen.
 */
export async function sourceSeenFromInstanceBecomes(
  expected: string | null,
  instanceId: string,
  serverNetns: string,
  ip: string,
  port: number,
  attempts = 8,
): Promise<string | null> {
  let seen: string | null = null;
  for (let i = 0; i < attempts; i += 1) {
    seen = await sourceSeenFromInstance(instanceId, serverNetns, ip, port);
    if (seen === expected) return seen;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return seen;
}

/** Whether the northbound database has the logical switch port of NIC `nicId`. */
export async function nbHasPort(nicId: string): Promise<boolean> {
  const { stdout } = await execCommand('ovn-nbctl', [
    '--format=csv',
    '--no-headings',
    '--columns=name',
    'find',
    'logical_switch_port',
    `name=${ovnNames.nic(nicId)}`,
  ]);
  return stdout.trim() !== '';
}
