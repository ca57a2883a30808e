/**
 * Opens TCP connections from inside a container's network namespace, for published ports.
 *
 * The host's root namespace has no route into any VPC (and must not get one), so a published
 * port is a userspace relay: the API listens on 127.0.0.1 and, per accepted connection, starts
 * `nsenter --net` into the container's namespace running `socat`, which connects there to the
 * instance's own address and copies bytes both ways over its stdin and stdout. Nothing leaves
 * the host's loopback or the container's namespace, and no NAT rule is written on the host.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Socket } from 'node:net';

export const NAMESPACE_CONNECTOR = Symbol('NAMESPACE_CONNECTOR');

export interface NamespaceConnector {
  /** Why connections cannot be relayed here (null when they can): shown at start-up. */
  readonly unavailableReason: string | null;
  /**
   * Relays `client` (accepted with `allowHalfOpen`) to `address:port` as seen from inside the
   * network namespace of process `pid`. Ends the client when the far side closes or cannot be
   * reached.
   */
  relay(client: Socket, pid: number, address: string, port: number): void;
}

/** How long socat keeps one direction open after the other ended (half-closed connections). */
const HALF_CLOSE_SECONDS = 600;

function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** `nsenter` + `socat`: needs root (entering a namespace) and both programs. */
export class NsenterConnector implements NamespaceConnector {
  readonly unavailableReason: string | null;

  constructor() {
    const missing = ['nsenter', 'socat'].filter((p) => !onPath(p));
    this.unavailableReason =
      missing.length > 0
        ? `${missing.join(' and ')} not found on PATH`
        : process.getuid?.() !== 0
          ? 'entering a container namespace needs root'
          : null;
  }

  relay(client: Socket, pid: number, address: string, port: number): void {
    const child = spawn(
      'nsenter',
      [
        `--target=${pid}`,
        '--net',
        '--',
        'socat',
        `-t${HALF_CLOSE_SECONDS}`,
        '-',
        `TCP:${address}:${port}`,
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    // Each direction ends on its own: a client that half-closes (sends, then shuts down its
    // side) still gets the whole answer, and the server gets every byte sent before the close.
    // The client's end closes socat's stdin; socat's stdout ending ends the client.
    client.pipe(child.stdin);
    child.stdout.pipe(client);
    child.stdin.on('error', () => client.destroy());
    child.on('error', () => client.destroy());
    client.on('error', () => child.kill('SIGKILL'));
    // Both directions are over (or the client went away): socat is done or no longer needed.
    client.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
  }
}

/** Where containers have no namespace on this host (the simulated engine). */
export class NoNamespaceConnector implements NamespaceConnector {
  constructor(readonly unavailableReason: string) {}

  relay(client: Socket): void {
    client.destroy();
  }
}
