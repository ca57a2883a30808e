import type { ProbeResult } from '../detection';
import { ExecError, execCommand, type Exec } from '../exec';

const PROBE_TIMEOUT_S = 3;

/**
 * OVN answers when the northbound database takes a query, ovn-northd and ovn-controller answer
 * on their control sockets, and this host's chassis (named by the Open vSwitch system-id) is in
 * the southbound database. Never throws.
 */
export async function probeOvn(exec: Exec = execCommand): Promise<ProbeResult> {
  const timeoutMs = (PROBE_TIMEOUT_S + 2) * 1000;
  const run = (file: string, args: string[]) => exec(file, args, { timeoutMs });
  let version: string | undefined;
  try {
    version = parseOvnVersion((await run('ovn-nbctl', ['--version'])).stdout);
  } catch (error: unknown) {
    return { reachable: false, detail: failureText('ovn-nbctl', error) };
  }
  const steps: Array<[string, string, string[]]> = [
    [
      'northbound database',
      'ovn-nbctl',
      [`--timeout=${PROBE_TIMEOUT_S}`, '--bare', '--columns=_uuid', 'list', 'NB_Global'],
    ],
    ['ovn-northd', 'ovn-appctl', [`--timeout=${PROBE_TIMEOUT_S}`, '-t', 'ovn-northd', 'version']],
    [
      'ovn-controller',
      'ovn-appctl',
      [`--timeout=${PROBE_TIMEOUT_S}`, '-t', 'ovn-controller', 'version'],
    ],
  ];
  for (const [what, file, args] of steps) {
    try {
      await run(file, args);
    } catch (error: unknown) {
      return { reachable: false, detail: `${what}: ${failureText(file, error)}` };
    }
  }
  let chassis: string;
  try {
    const { stdout } = await run('ovs-vsctl', [
      `--timeout=${PROBE_TIMEOUT_S}`,
      '--if-exists',
      'get',
      'open',
      '.',
      'external-ids:system-id',
    ]);
    chassis = stdout.trim().replace(/^"|"$/g, '');
    if (chassis === '') {
      return { reachable: false, detail: 'Open vSwitch has no external-ids:system-id' };
    }
    const { stdout: found } = await run('ovn-sbctl', [
      `--timeout=${PROBE_TIMEOUT_S}`,
      '--bare',
      '--columns=name',
      'find',
      'chassis',
      `name=${JSON.stringify(chassis)}`,
    ]);
    if (found.trim() === '') {
      return { reachable: false, detail: `chassis ${chassis} is not in the southbound database` };
    }
  } catch (error: unknown) {
    return { reachable: false, detail: `southbound database: ${failureText('ovn-sbctl', error)}` };
  }
  return {
    reachable: true,
    ...(version ? { version } : {}),
    detail: `OVN ${version ?? '(unknown version)'}, ovn-northd and ovn-controller answering, chassis ${chassis}`,
  };
}

/** `ovn-nbctl 23.03.1\nOpen vSwitch Library 3.1.0` -> `23.03.1`. */
export function parseOvnVersion(output: string): string | undefined {
  return /^ovn-nbctl\s+(\S+)/m.exec(output)?.[1];
}

function failureText(what: string, error: unknown): string {
  if (error instanceof ExecError) {
    if (error.failure === 'not_found') return `${error.command} is not installed`;
    const firstLine = error.stderr.trim().split('\n')[0];
    return firstLine ? `${what} failed: ${firstLine}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
