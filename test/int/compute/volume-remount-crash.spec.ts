import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  findInstanceType,
  instanceDecider,
  volumeDecider,
  type InstanceType,
} from '../../../src/compute/domain';
import {
  containerNameOf,
  SNAPSHOT_REPOSITORY_PREFIX,
  volumeNameOf,
} from '../../../src/drivers/docker/compute-driver';
import { DockerDriver } from '../../../src/drivers/docker/docker-driver';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import type { CommandContext } from '../../../src/kernel/command-context';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { forkTypeScript } from '../sagas/fixtures/fork-ts';
import { dockerClient, realDocker, TEST_INSTALLATION_ID } from '../drivers/real-backends';
import { ChildRun } from './fixtures/child-run';
import type { RemountChildMessage } from './fixtures/remount-child';
import { execIn as execInContainer } from './fixtures/exec-in';

const docker = realDocker();
const client = dockerClient();
const CHILD = resolve('test/int/compute/fixtures/remount-child.ts');
const LABEL = `remount-crash-${randomUUID().slice(0, 8)}`;
const WAIT_MS = 60_000;
const TENANT = randomUUID();
const MIB = 1024 * 1024;

/** A process killed in the middle of re-creating a container for a volume attach. */
describe('volume attach killed mid re-create (real PostgreSQL and Docker)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  const driver = new DockerDriver(client, TEST_INSTALLATION_ID);
  const children: ChildRun<RemountChildMessage>[] = [];
  const instances: string[] = [];
  const volumes: string[] = [];

  const ctx = (): CommandContext => ({
    commandId: randomUUID(),
    tenantId: TENANT,
    actor: { type: 'user', id: 'int-test' },
    requestId: null,
    sourceIp: null,
    correlationId: randomUUID(),
    causationId: null,
    now: new Date(),
  });

  const execIn = (instanceId: string, script: string): Promise<string> =>
    execInContainer(client, instanceId, script);

  beforeAll(async () => {
    await docker.probe();
    db = await createTestDatabase('compute_remount');
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    executor = new CommandExecutor(store);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.ensureGone();
  });

  afterAll(async () => {
    for (const id of instances) await driver.remove(id).catch(() => undefined);
    for (const id of volumes) await driver.removeVolume(id).catch(() => undefined);
    await store?.close();
    await db?.drop();
  });

  /** A RUNNING instance (as the launch saga leaves it) with a file in its root filesystem. */
  async function runningInstance(): Promise<string> {
    const instanceId = randomUUID();
    instances.push(instanceId);
    const type = findInstanceType('basic-1') as InstanceType;
    const dockerImageId = (await client.getImage('nimbus/busybox:latest').inspect()).Id;
    await executor.execute(
      instanceDecider,
      instanceId,
      {
        type: 'LaunchInstance',
        instanceId,
        tenantId: TENANT,
        name: 'int-remount',
        image: { id: randomUUID(), name: 'busybox', dockerImageId },
        instanceType: type,
        vpcId: null,
        subnetId: null,
        ports: [],
        volumes: [],
        userData: null,
        now: new Date(),
      },
      ctx(),
    );
    const { containerId } = await driver.createContainer({
      instanceId,
      tenantId: TENANT,
      image: dockerImageId,
      limits: { NanoCpus: 1e9, Memory: 512 * MIB, MemorySwap: 512 * MIB },
      volumes: [],
      userData: null,
      labels: { 'nimbus.test': LABEL },
    });
    await driver.start(instanceId);
    for (const command of [
      { type: 'RecordContainerCreated' as const, containerId, now: new Date() },
      {
        type: 'RecordNetworkAttached' as const,
        vpcId: null,
        subnetId: null,
        privateIp: null,
        now: new Date(),
      },
      { type: 'RecordInstanceStarted' as const, now: new Date() },
    ]) {
      await executor.execute(instanceDecider, instanceId, command, ctx());
    }
    await execIn(instanceId, 'echo survived > /root-marker.txt');
    return instanceId;
  }

  async function newVolume(): Promise<string> {
    const volumeId = randomUUID();
    volumes.push(volumeId);
    await driver.createVolume(volumeId, { 'nimbus.test': LABEL });
    await executor.execute(
      volumeDecider,
      volumeId,
      { type: 'CreateVolume', volumeId, tenantId: TENANT, name: 'v', sizeGb: 1, now: new Date() },
      ctx(),
    );
    return volumeId;
  }

  function spawnChild(env: Record<string, string>): ChildRun<RemountChildMessage> {
    const child = new ChildRun<RemountChildMessage>(
      forkTypeScript(CHILD, {
        REMOUNT_TEST_DB: db.url,
        REMOUNT_TENANT: TENANT,
        REMOUNT_LABEL: LABEL,
        ...env,
      }),
      'remount',
      WAIT_MS,
    );
    children.push(child);
    return child;
  }

  async function expectMounted(instanceId: string, volumeId: string): Promise<void> {
    const inspected = await client.getContainer(containerNameOf(instanceId)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Mounts.map((m) => [m.Name, m.Destination])).toEqual([
      [volumeNameOf(volumeId), '/data'],
    ]);
    expect(await execIn(instanceId, 'cat /root-marker.txt')).toBe('survived');
    const { state } = await executor.load(instanceDecider, instanceId);
    expect(state.status).toBe('RUNNING');
    expect(state.volumeChange).toBeNull();
    expect(state.volumes).toEqual([{ volumeId, mountPath: '/data' }]);
    expect(state.containerId).toBe(inspected.Id);
    const types = (await store.readStream(`instance-${instanceId}`)).map((e) => e.type);
    expect(types.filter((t) => t === 'InstanceVolumesChangeRequested')).toHaveLength(1);
    expect(types.filter((t) => t === 'InstanceVolumesChanged')).toHaveLength(1);
    const volume = (await executor.load(volumeDecider, volumeId)).state;
    expect(volume.attachment).toEqual({ instanceId, mountPath: '/data' });
    const snapshots = await client.listImages({
      filters: { reference: [`${SNAPSHOT_REPOSITORY_PREFIX}${instanceId}`] },
    });
    expect(snapshots).toHaveLength(1);
  }

  it('killed after removing the old container, the restarted process’s reconcile finishes the change', async (c) => {
    docker.require(c);
    const instanceId = await runningInstance();
    const volumeId = await newVolume();
    const env = {
      REMOUNT_INSTANCE: instanceId,
      REMOUNT_VOLUME: volumeId,
      REMOUNT_COMMAND: randomUUID(),
    };
    const first = spawnChild({ ...env, REMOUNT_MODE: 'attach', REMOUNT_PAUSE: 'after:remove' });
    await first.next('paused');
    await first.kill();
    expect(await driver.inspect(instanceId)).toBeNull();
    expect((await executor.load(instanceDecider, instanceId)).state.volumeChange).not.toBeNull();

    const second = spawnChild({ ...env, REMOUNT_MODE: 'reconcile' });
    await second.next('done');
    await expectMounted(instanceId, volumeId);
  });

  it('killed after creating the new container, the retried request finishes the change', async (c) => {
    docker.require(c);
    const instanceId = await runningInstance();
    const volumeId = await newVolume();
    const env = {
      REMOUNT_INSTANCE: instanceId,
      REMOUNT_VOLUME: volumeId,
      REMOUNT_COMMAND: randomUUID(),
    };
    const first = spawnChild({ ...env, REMOUNT_MODE: 'attach', REMOUNT_PAUSE: 'after:create' });
    await first.next('paused');
    await first.kill();
    expect((await driver.inspect(instanceId))?.state).toBe('created');

    const second = spawnChild({ ...env, REMOUNT_MODE: 'attach' });
    await second.next('done');
    await expectMounted(instanceId, volumeId);
  });
});
