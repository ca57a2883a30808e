import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  containerNameOf,
  DriverError,
  SNAPSHOT_REPOSITORY_PREFIX,
  snapshotReferenceOf,
  volumeNameOf,
} from '../../../src/drivers/docker/compute-driver';
import { DockerDriver } from '../../../src/drivers/docker/docker-driver';
import { dockerClient, realDocker, TEST_INSTALLATION_ID } from '../drivers/real-backends';
import { execIn as execInContainer } from './fixtures/exec-in';

const docker = realDocker();
const client = dockerClient();
const BUSYBOX = 'nimbus/busybox:latest';
const TEST_LABEL = 'nimbus.test';
const MIB = 1024 * 1024;

/**
 * `recreateContainer` resumes from every point a crash can leave the engine in. Each test puts
 * the engine where a process killed between two steps would leave it (with the engine's own
 * calls, as the driver makes them), then runs the whole re-create again.
 */
describe('DockerDriver.recreateContainer (real Docker)', () => {
  const driver = new DockerDriver(client, TEST_INSTALLATION_ID);
  const run = `remount-${randomUUID().slice(0, 8)}`;
  const instances: string[] = [];
  const volumes: string[] = [];

  const spec = (instanceId: string, mounted: string[]) => ({
    instanceId,
    tenantId: 'tenant-remount-test',
    image: BUSYBOX,
    limits: { NanoCpus: 1e9, Memory: 64 * MIB, MemorySwap: 64 * MIB },
    volumes: mounted.map((volumeId) => ({ volumeId, mountPath: '/data' })),
    userData: null,
    labels: { [TEST_LABEL]: run },
  });

  const execIn = (instanceId: string, script: string): Promise<string> =>
    execInContainer(client, instanceId, script);

  /** A running instance with a file in its root filesystem and a fresh volume. */
  async function prepared(): Promise<{ id: string; volumeId: string }> {
    const id = randomUUID();
    const volumeId = randomUUID();
    instances.push(id);
    volumes.push(volumeId);
    await driver.createVolume(volumeId, { [TEST_LABEL]: run });
    await driver.createContainer(spec(id, []));
    await driver.start(id);
    await execIn(id, 'echo kept > /root-marker.txt');
    return { id, volumeId };
  }

  async function expectRemounted(id: string, volumeId: string): Promise<void> {
    const inspected = await client.getContainer(containerNameOf(id)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Mounts.map((m) => [m.Name, m.Destination])).toEqual([
      [volumeNameOf(volumeId), '/data'],
    ]);
    expect(inspected.HostConfig.Memory).toBe(64 * MIB);
    expect(inspected.Config.Labels).toMatchObject({ 'nimbus.instance': id, [TEST_LABEL]: run });
    expect(await execIn(id, 'cat /root-marker.txt')).toBe('kept');
  }

  beforeAll(async () => {
    await docker.probe();
  });

  afterAll(async () => {
    for (const id of instances) await driver.remove(id).catch(() => undefined);
    for (const id of volumes) await driver.removeVolume(id).catch(() => undefined);
  });

  it('re-creates with the new mounts, keeps the root filesystem, and a repeat changes nothing', async (ctx) => {
    docker.require(ctx);
    const { id, volumeId } = await prepared();
    const snapshot = snapshotReferenceOf(id, 'first');
    const { containerId } = await driver.recreateContainer(spec(id, [volumeId]), snapshot, true);
    await expectRemounted(id, volumeId);
    const again = await driver.recreateContainer(spec(id, [volumeId]), snapshot, true);
    expect(again.containerId).toBe(containerId);

    // A second change replaces the first snapshot; remove() takes the last one with it.
    await driver.recreateContainer(spec(id, []), snapshotReferenceOf(id, 'second'), false);
    expect((await driver.inspect(id))?.state).toBe('created');
    const tags = (
      await client.listImages({ filters: { reference: [`${SNAPSHOT_REPOSITORY_PREFIX}${id}`] } })
    ).flatMap((i) => i.RepoTags ?? []);
    expect(tags).toEqual([snapshotReferenceOf(id, 'second')]);
    await driver.remove(id);
    expect(
      await client.listImages({ filters: { reference: [`${SNAPSHOT_REPOSITORY_PREFIX}${id}`] } }),
    ).toEqual([]);
  });

  it('resumes after a crash between commit and remove', async (ctx) => {
    docker.require(ctx);
    const { id, volumeId } = await prepared();
    const snapshot = snapshotReferenceOf(id, 'crash1');
    await driver.stop(id);
    await client
      .getContainer(containerNameOf(id))
      .commit({ repo: `${SNAPSHOT_REPOSITORY_PREFIX}${id}`, tag: 'crash1' });
    await driver.recreateContainer(spec(id, [volumeId]), snapshot, true);
    await expectRemounted(id, volumeId);
  });

  it('resumes after a crash between remove and create', async (ctx) => {
    docker.require(ctx);
    const { id, volumeId } = await prepared();
    const snapshot = snapshotReferenceOf(id, 'crash2');
    await driver.stop(id);
    await client
      .getContainer(containerNameOf(id))
      .commit({ repo: `${SNAPSHOT_REPOSITORY_PREFIX}${id}`, tag: 'crash2' });
    await client.getContainer(containerNameOf(id)).remove({ force: true });
    await driver.recreateContainer(spec(id, [volumeId]), snapshot, true);
    await expectRemounted(id, volumeId);
  });

  it('resumes after a crash between create and start', async (ctx) => {
    docker.require(ctx);
    const { id, volumeId } = await prepared();
    const snapshot = snapshotReferenceOf(id, 'crash3');
    await driver.recreateContainer(spec(id, [volumeId]), snapshot, false);
    expect((await driver.inspect(id))?.state).toBe('created');
    await driver.recreateContainer(spec(id, [volumeId]), snapshot, true);
    await expectRemounted(id, volumeId);
  });

  it('with neither the container nor its snapshot there is nothing to re-create (not_found)', async (ctx) => {
    docker.require(ctx);
    const id = randomUUID();
    await expect(
      driver.recreateContainer(spec(id, []), snapshotReferenceOf(id, 'none'), true),
    ).rejects.toMatchObject({ kind: 'not_found' });
    await expect(
      driver.recreateContainer(spec(id, []), snapshotReferenceOf(id, 'none'), true),
    ).rejects.toBeInstanceOf(DriverError);
  });
});
