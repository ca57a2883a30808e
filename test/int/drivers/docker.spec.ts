import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectDrivers, DriverUnavailableError } from '../../../src/drivers/detection';
import { probeDocker } from '../../../src/drivers/docker/docker-probe';
import {
  BASE_IMAGES,
  ensureBaseImages,
  inspectBaseImages,
} from '../../../src/drivers/docker/base-images';
import { probeOvn } from '../../../src/drivers/ovn/ovn-probe';
import { probeOvs } from '../../../src/drivers/ovs/ovs-probe';
import Dockerode from 'dockerode';
import { dockerClient, realDocker } from './real-backends';

const docker = realDocker();
const BUSYBOX = 'nimbus/busybox:latest';

describe('Docker driver foundations (real Docker)', () => {
  const client = dockerClient();
  const testId = randomBytes(4).toString('hex');
  const created: string[] = [];

  beforeAll(async () => {
    await docker.probe();
  });

  afterAll(async () => {
    for (const name of created) {
      await client
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('detection picks the real Docker in auto mode and names its version', async (ctx) => {
    docker.require(ctx);
    const detected = await detectDrivers(
      { docker: 'auto', ovs: 'simulated', ovn: 'simulated' },
      { docker: () => probeDocker(client), ovs: () => probeOvs(), ovn: () => probeOvn() },
    );
    expect(detected.docker.active).toBe('docker');
    expect(detected.docker.version).toMatch(/^\d+\.\d+/);
    expect(detected.docker.reason).toMatch(
      /^NIMBUS_DOCKER=auto: Docker Engine \S+ \(API [\d.]+\) at \/var\/run\/docker\.sock$/,
    );
  });

  it('an explicit NIMBUS_DOCKER=docker with no engine behind the socket is a start-up error', async (ctx) => {
    docker.require(ctx);
    const nowhere = `/tmp/nimbus-no-docker-${testId}.sock`;
    await expect(
      detectDrivers(
        { docker: 'docker', ovs: 'simulated', ovn: 'simulated' },
        {
          docker: () => probeDocker(new Dockerode({ socketPath: nowhere }), nowhere),
          ovs: () => probeOvs(),
          ovn: () => probeOvn(),
        },
      ),
    ).rejects.toThrow(DriverUnavailableError);
  });

  it('ensures the base images (built when missing) and finds them present', async (ctx) => {
    docker.require(ctx);
    const status = await ensureBaseImages(client);
    expect(status).toMatchObject({ ready: true, missing: [] });
    expect(status.present).toEqual(BASE_IMAGES.map((image) => image.reference));
    expect((await inspectBaseImages(client)).ready).toBe(true);

    const image = await client.getImage(BUSYBOX).inspect();
    expect(image.Config.Cmd).toEqual(['/bin/sh']);
    expect(image.Config.Labels?.['org.nimbus.base-image']).toBe('busybox');
    expect(image.Os).toBe('linux');
  });

  it('runs echo in a container of the base image with no network', async (ctx) => {
    docker.require(ctx);
    const name = `nimbus-test-${testId}`;
    created.push(name);
    const container = await client.createContainer({
      name,
      Image: BUSYBOX,
      // The interfaces the container sees: with --network none only the loopback.
      Cmd: ['sh', '-c', 'echo hello from nimbus; ls /sys/class/net'],
      Labels: { 'org.nimbus.test': 'drivers' },
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    const exit = (await container.wait()) as { StatusCode: number };
    expect(exit.StatusCode).toBe(0);

    const logs = await container.logs({ stdout: true, stderr: true });
    const text = demuxText(logs);
    expect(text).toBe('hello from nimbus\nlo\n');
    const info = await container.inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    await container.remove({ force: true });
  });
});

/** Docker's multiplexed log stream (8-byte frame headers) to plain text. */
function demuxText(buffer: Buffer): string {
  let text = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text;
}
