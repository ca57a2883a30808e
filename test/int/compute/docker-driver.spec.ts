import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { containerNameOf, volumeNameOf } from '../../../src/drivers/docker/compute-driver';
import { DockerDriver } from '../../../src/drivers/docker/docker-driver';
import { dockerClient, realDocker, TEST_INSTALLATION_ID } from '../drivers/real-backends';

const docker = realDocker();
const client = dockerClient();
const BUSYBOX = 'nimbus/busybox:latest';
const TEST_LABEL = 'nimbus.test';
const MIB = 1024 * 1024;

const limits = (cpus: number, mib: number) => ({
  NanoCpus: cpus * 1e9,
  Memory: mib * MIB,
  MemorySwap: mib * MIB,
});

describe('DockerDriver (real Docker)', () => {
  const driver = new DockerDriver(client, TEST_INSTALLATION_ID);
  const run = `driver-${randomUUID().slice(0, 8)}`;
  const instances: string[] = [];
  const volumes: string[] = [];

  const newInstance = () => {
    const id = randomUUID();
    instances.push(id);
    return id;
  };
  const spec = (
    instanceId: string,
    extra: Partial<Parameters<DockerDriver['createContainer']>[0]> = {},
  ) => ({
    instanceId,
    tenantId: 'tenant-driver-test',
    image: BUSYBOX,
    limits: limits(1, 64),
    volumes: [],
    userData: null,
    labels: { [TEST_LABEL]: run },
    ...extra,
  });

  beforeAll(async () => {
    await docker.probe();
  });

  afterAll(async () => {
    for (const id of instances) await driver.remove(id).catch(() => undefined);
    for (const id of volumes) await driver.removeVolume(id).catch(() => undefined);
  });

  it('creates a container with the limits, labels and no network; create is idempotent', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    const first = await driver.createContainer(spec(id, { limits: limits(1, 96) }));
    expect(first.created).toBe(true);
    const again = await driver.createContainer(spec(id, { limits: limits(1, 96) }));
    expect(again).toEqual({ containerId: first.containerId, created: false });

    const inspected = await client.getContainer(containerNameOf(id)).inspect();
    expect(inspected.HostConfig.NanoCpus).toBe(1e9);
    expect(inspected.HostConfig.Memory).toBe(96 * MIB);
    expect(inspected.HostConfig.MemorySwap).toBe(96 * MIB);
    expect(inspected.HostConfig.NetworkMode).toBe('none');
    expect(inspected.Config.Labels).toMatchObject({
      'nimbus.instance': id,
      'nimbus.tenant': 'tenant-driver-test',
    });
    await driver.start(id);
    await driver.start(id);
    expect((await driver.inspect(id))?.state).toBe('running');
  });

  it('pause and unpause change the engine state, each idempotent; stop unpauses first', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    await driver.createContainer(spec(id));
    await driver.start(id);
    await driver.pause(id);
    await driver.pause(id);
    expect((await client.getContainer(containerNameOf(id)).inspect()).State.Status).toBe('paused');
    await driver.unpause(id);
    await driver.unpause(id);
    expect((await client.getContainer(containerNameOf(id)).inspect()).State.Status).toBe('running');
    await driver.pause(id);
    const stopped = await driver.stop(id, 5);
    expect(stopped.exitCode).toBe(0);
    expect((await driver.stop(id)).exitCode).toBe(0);
    expect((await driver.inspect(id))?.state).toBe('exited');
    await driver.start(id);
    expect((await driver.inspect(id))?.state).toBe('running');
  });

  it('update changes the limits of the live container, up and down', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    await driver.createContainer(spec(id, { limits: limits(1, 64) }));
    await driver.start(id);
    await driver.update(id, limits(2, 256));
    let host = (await client.getContainer(containerNameOf(id)).inspect()).HostConfig;
    expect([host.NanoCpus, host.Memory, host.MemorySwap]).toEqual([2e9, 256 * MIB, 256 * MIB]);
    await driver.update(id, limits(1, 32));
    host = (await client.getContainer(containerNameOf(id)).inspect()).HostConfig;
    expect([host.NanoCpus, host.Memory, host.MemorySwap]).toEqual([1e9, 32 * MIB, 32 * MIB]);
    expect((await driver.inspect(id))?.state).toBe('running');
  });

  it('remove removes and is idempotent; calls on a missing container are answered', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    await driver.createContainer(spec(id));
    await driver.start(id);
    await driver.remove(id);
    await driver.remove(id);
    expect(await driver.inspect(id)).toBeNull();
    await expect(client.getContainer(containerNameOf(id)).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(await driver.stop(id)).toEqual({ exitCode: null });
    await expect(driver.pause(id)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('a missing image is a driver error and leaves no container', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    await expect(
      driver.createContainer(spec(id, { image: 'nimbus/does-not-exist:latest' })),
    ).rejects.toMatchObject({ kind: 'not_found' });
    expect(await driver.inspect(id)).toBeNull();
  });

  it('mounts volumes, runs user data, reads logs and stats, lists by label', async (ctx) => {
    docker.require(ctx);
    const volumeId = randomUUID();
    volumes.push(volumeId);
    await driver.createVolume(volumeId, { [TEST_LABEL]: run });
    await driver.createVolume(volumeId, { [TEST_LABEL]: run });
    const id = newInstance();
    await driver.createContainer(
      spec(id, {
        volumes: [{ volumeId, mountPath: '/data' }],
        userData: 'echo hello-from-user-data; echo persisted > /data/file',
      }),
    );
    await driver.start(id);
    const info = await client.getContainer(containerNameOf(id)).inspect();
    expect(info.Mounts.map((m) => [m.Name, m.Destination])).toEqual([
      [volumeNameOf(volumeId), '/data'],
    ]);

    let lines: string[] = [];
    for (let i = 0; i < 50 && !lines.includes('hello-from-user-data'); i++) {
      lines = (await driver.logs(id)).map((l) => l.line);
      if (!lines.includes('hello-from-user-data')) await new Promise((r) => setImmediate(r));
    }
    expect(lines).toContain('hello-from-user-data');

    const stats = await driver.stats(id);
    expect(stats.memoryLimitBytes).toBe(64 * MIB);
    expect(stats.memoryBytes).toBeGreaterThan(0);

    const listed = await driver.list();
    expect(listed.find((c) => c.instanceId === id)?.state).toBe('running');

    await driver.remove(id);
    await driver.removeVolume(volumeId);
    await driver.removeVolume(volumeId);
    await expect(client.getVolume(volumeNameOf(volumeId)).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('reports the exit of a killed container as an event with its exit code', async (ctx) => {
    docker.require(ctx);
    const id = newInstance();
    await driver.createContainer(spec(id));
    await driver.start(id);
    const controller = new AbortController();
    let connected!: () => void;
    const live = new Promise<void>((resolve) => (connected = resolve));
    const died = new Promise<number | null>((resolve) => {
      void driver.events(
        (event) => {
          if (event.instanceId === id && event.action === 'die') {
            resolve(event.exitCode);
            controller.abort();
          }
        },
        controller.signal,
        connected,
      );
    });
    await live;
    await client.getContainer(containerNameOf(id)).kill();
    expect(await died).toBe(137);
    expect(await driver.inspect(id)).toMatchObject({ state: 'exited', exitCode: 137 });
  });
});

describe('two installations on one Docker engine (real Docker)', () => {
  const a = new DockerDriver(client, randomUUID());
  const b = new DockerDriver(client, randomUUID());
  const run = `installations-${randomUUID().slice(0, 8)}`;
  const ofA = randomUUID();
  const ofB = randomUUID();
  const volumeOfA = randomUUID();
  const spec = (instanceId: string) => ({
    instanceId,
    tenantId: 'tenant-installations-test',
    image: BUSYBOX,
    limits: limits(1, 64),
    volumes: [],
    userData: 'echo hello from A',
    labels: { [TEST_LABEL]: run },
  });

  beforeAll(async () => {
    await docker.probe();
  });
  afterAll(async () => {
    await a.remove(ofA).catch(() => undefined);
    await b.remove(ofB).catch(() => undefined);
    await a.removeVolume(volumeOfA).catch(() => undefined);
  });

  it("each one lists, inspects, follows and reads only its own; removals and stops leave the other's alone", async (ctx) => {
    docker.require(ctx);
    await a.createContainer(spec(ofA));
    await a.start(ofA);
    await a.createVolume(volumeOfA, {});
    const labels = (await client.getContainer(containerNameOf(ofA)).inspect()).Config.Labels;
    expect(labels['nimbus.installation']).toBe(a.installationId);

    expect((await a.list()).map((c) => c.instanceId)).toContain(ofA);
    expect((await b.list()).map((c) => c.instanceId)).not.toContain(ofA);
    expect(await b.inspect(ofA)).toBeNull();
    expect(await b.logs(ofA)).toEqual([]);
    await expect(b.stats(ofA)).rejects.toMatchObject({ kind: 'not_found' });
    // What a reconciler or clean-up of B would do to a container it does not know: nothing.
    expect(await b.stop(ofA)).toEqual({ exitCode: null });
    await b.remove(ofA);
    await b.removeVolume(volumeOfA);
    expect(await a.inspect(ofA)).toMatchObject({ state: 'running' });
    expect((await client.getVolume(volumeNameOf(volumeOfA)).inspect()).Name).toBe(
      volumeNameOf(volumeOfA),
    );
    // B cannot take the name over either.
    await expect(b.createContainer(spec(ofA))).rejects.toThrow(/creating container/);

    // Engine events: B hears of its own container, never of A's.
    const controller = new AbortController();
    const heardByB: string[] = [];
    let connected!: () => void;
    const live = new Promise<void>((resolve) => (connected = resolve));
    const ownStarted = new Promise<void>((resolve) => {
      void b.events(
        (event) => {
          heardByB.push(event.instanceId);
          if (event.instanceId === ofB && event.action === 'start') resolve();
        },
        controller.signal,
        connected,
      );
    });
    await live;
    await a.restart(ofA, 0);
    await b.createContainer(spec(ofB));
    await b.start(ofB);
    await ownStarted;
    controller.abort();
    expect(heardByB).not.toContain(ofA);
    expect(heardByB).toContain(ofB);
    expect((await a.list()).map((c) => c.instanceId)).not.toContain(ofB);
  });
});
