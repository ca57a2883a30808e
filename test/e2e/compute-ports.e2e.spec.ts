/**
 * Published ports on real Docker and OVN: an instance launched into a subnet with
 * `ports: "<host>:8080"` runs busybox httpd on 8080, and the test reaches it at
 * 127.0.0.1:<host> (the host's loopback: a userspace relay enters the container's namespace).
 * While the instance is stopped a connection is closed without an answer, after start it answers
 * again, after terminate nothing listens. A host port another program holds is a 409 at launch.
 * Under CI=true a missing OVN or Docker fails the file; elsewhere it is skipped loudly.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { PublishedPorts } from '../../src/compute/application/published-ports';
import { containerNameOf } from '../../src/drivers/docker/compute-driver';
import { execCommand } from '../../src/drivers/exec';
import { isCI, removeLabelledContainers } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { containerListens, until } from './network-traffic';
import {
  itemsOf,
  pollUntil,
  refusedWith,
  sdkSignUp,
  unwrap,
  type SdkAccount,
} from '../support/sdk';

const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
const dockerPresent = existsSync('/var/run/docker.sock');
if (!ovnPresent || !dockerPresent) {
  console.warn(
    `\n[compute] ${isCI ? 'FAILING' : 'SKIPPING'} the published ports e2e tests: ` +
      `${ovnPresent ? '' : 'OVN is not running '}${dockerPresent ? '' : 'Docker is not running'}.\n`,
  );
}

const RUN = `ports-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';
const MARKER = `served-by-${RUN}`;
const SERVER = `mkdir -p /www && echo ${MARKER} > /www/index.html && ` + 'httpd -p 8080 -h /www';

/** A port nothing listens on right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The body of GET / on 127.0.0.1:port, or the error's code. */
async function fetchLoopback(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    return (await res.text()).trim();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return `error:${cause?.code ?? String(error)}`;
  }
}

/** Sends `payload` to 127.0.0.1:port, shuts down the sending side, waits for the close. */
async function sendAndHalfClose(port: number, payload: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
    socket.end(payload);
  });
}

async function eventuallyFetches(
  port: number,
  done: (body: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await fetchLoopback(port);
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf((!ovnPresent || !dockerPresent) && !isCI)(
  'published ports, real Docker and OVN (e2e)',
  () => {
    let t: TestApp;
    let alice: SdkAccount;
    let blocker: Server | undefined;
    const byId = (id: string) => ({ params: { path: { id } } });

    async function status(id: string, wanted: string) {
      return pollUntil(
        () => alice.sdk.GET('/instances/{id}', byId(id)),
        (i) => i.status === wanted || i.status === 'ERROR',
      );
    }

    beforeAll(async () => {
      t = await startTestApp({
        label: 'compute_ports',
        config: {
          docker: 'docker',
          ovs: 'simulated',
          ovn: 'ovn',
          authRateLimitPerMinute: 10_000,
          containerLabel: { key: TEST_LABEL, value: RUN },
        },
      });
      alice = await sdkSignUp(t, 'ports');
    }, 120_000);

    afterAll(async () => {
      blocker?.close();
      await t?.close();
      await removeLabelledContainers(TEST_LABEL, RUN);
    });

    it('a published port reaches the instance from 127.0.0.1 while it runs, and nothing after terminate', async () => {
      expect(t.app.get(PublishedPorts).active).toBe(true);
      const hostPort = await freePort();
      const uploadPort = await freePort();
      const launched = unwrap(
        await alice.sdk.POST('/instances', {
          body: {
            name: 'web',
            image: 'busybox',
            instance_type: 'basic-1',
            ports: `${hostPort}:8080,${uploadPort}:9000`,
            user_data: SERVER,
          },
        }),
      );
      await t.app
        .get<SagaRuntime>(SAGA_RUNTIME)
        .whenSettled(INSTANCE_LAUNCH_SAGA, launched.id, 60_000);
      const running = await status(launched.id, 'RUNNING');
      expect(running).toMatchObject({
        status: 'RUNNING',
        ports: `${hostPort}:8080,${uploadPort}:9000`,
      });
      expect(running.private_ip).not.toBeNull();

      expect(await eventuallyFetches(hostPort, (b) => b === MARKER)).toBe(MARKER);
      // A client that sends, then shuts down its side: every byte reaches the instance.
      const payload = randomBytes(4 * 1024 * 1024);
      // On 9000 a counter of the bytes one client sends.
      await execCommand('docker', [
        'exec',
        '-d',
        containerNameOf(launched.id),
        'sh',
        '-c',
        'nc -l -p 9000 | wc -c > /tmp/received',
      ]);
      expect(await until(() => containerListens(launched.id, 9000), 40, 100)).toBe(true);
      await sendAndHalfClose(uploadPort, payload);
      const received = async () =>
        (
          await execCommand('docker', [
            'exec',
            containerNameOf(launched.id),
            'cat',
            '/tmp/received',
          ]).catch(() => ({ stdout: '' }))
        ).stdout.trim();
      const deadline = Date.now() + 10_000;
      while ((await received()) === '' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await received()).toBe(String(payload.length));

      // Stopped: the port still belongs to the instance, but nothing answers behind it.
      unwrap(await alice.sdk.POST('/instances/{id}/stop', byId(launched.id)));
      await status(launched.id, 'STOPPED');
      expect(await eventuallyFetches(hostPort, (b) => b.startsWith('error:'))).toMatch(/^error:/);

      // Started again: a new process (and namespace) behind the same port.
      unwrap(await alice.sdk.POST('/instances/{id}/start', byId(launched.id)));
      await status(launched.id, 'RUNNING');
      expect(await eventuallyFetches(hostPort, (b) => b === MARKER)).toBe(MARKER);

      unwrap(await alice.sdk.DELETE('/instances/{id}', byId(launched.id)));
      await status(launched.id, 'TERMINATED');
      expect(await eventuallyFetches(hostPort, (b) => b === 'error:ECONNREFUSED')).toBe(
        'error:ECONNREFUSED',
      );
    }, 180_000);

    it('a host port another program listens on is refused at launch with 409, and nothing is appended', async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      const before = itemsOf(unwrap(await alice.sdk.GET('/instances')));
      const refused = await alice.sdk.POST('/instances', {
        body: { name: 'clash', image: 'busybox', instance_type: 'basic-1', ports: `${port}:80` },
      });
      const error = refusedWith(refused, 409, 'conflict');
      expect(error.message).toContain(`host port ${port}`);
      expect(error.details).toMatchObject({ field: 'ports', port });
      const after = itemsOf(unwrap(await alice.sdk.GET('/instances')));
      expect(after.length).toBe(before.length);
    });
  },
);
