import type { ProbeResult } from '../detection';
import { ExecError, execCommand, type Exec } from '../exec';

const PROBE_TIMEOUT_S = 3;

/**
 * Open vSwitch answers when ovs-vsctl is installed, ovsdb-server takes `show`, and ovs-vswitchd
 * (which turns the database into bridges) answers `version`. Never throws.
 */
export async function probeOvs(exec: Exec = execCommand): Promise<ProbeResult> {
  const timeoutMs = (PROBE_TIMEOUT_S + 2) * 1000;
  let version: string | undefined;
  try {
    const { stdout } = await exec('ovs-vsctl', ['--version'], { timeoutMs });
    version = parseOvsVersion(stdout);
  } catch (error: unknown) {
    return { reachable: false, detail: failureText('ovs-vsctl', error) };
  }
  try {
    await exec('ovs-vsctl', [`--timeout=${PROBE_TIMEOUT_S}`, 'show'], { timeoutMs });
  } catch (error: unknown) {
    return { reachable: false, detail: `ovsdb-server: ${failureText('ovs-vsctl show', error)}` };
  }
  try {
    await exec('ovs-appctl', [`--timeout=${PROBE_TIMEOUT_S}`, '-t', 'ovs-vswitchd', 'version'], {
      timeoutMs,
    });
  } catch (error: unknown) {
    return { reachable: false, detail: `ovs-vswitchd: ${failureText('ovs-appctl', error)}` };
  }
  return {
    reachable: true,
    ...(version ? { version } : {}),
    detail: `Open vSwitch ${version ?? '(unknown version)'}, ovsdb-server and ovs-vswitchd answering`,
  };
}

/** `ovs-vsctl (Open vSwitch) 3.1.0` -> `3.1.0`. */
export function parseOvsVersion(output: string): string | undefined {
  return /\(Open vSwitch\)\s+(\S+)/.exec(output)?.[1];
}

function failureText(what: string, error: unknown): string {
  if (error instanceof ExecError) {
    if (error.failure === 'not_found') return `${error.command} is not installed`;
    const firstLine = error.stderr.trim().split('\n')[0];
    return firstLine ? `${what} failed: ${firstLine}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
