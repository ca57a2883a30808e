import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  INSTANCE_LAUNCH_SAGA,
  instanceLaunchSaga,
} from '../../../sagas/instance-launch/instance-launch.saga';
import { SagaRuntime } from '../../../sagas/runtime/saga-runtime';
import {
  findInstanceType,
  instanceDecider,
  instanceQuotaAmounts,
  volumeDecider,
  type InstanceType,
} from '../../../src/compute/domain';
import { containerNameOf } from '../../../src/drivers/docker/compute-driver';
import { DockerDriver } from '../../../src/drivers/docker/docker-driver';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import type { CommandContext } from '../../../src/kernel/command-context';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { computeQuotaService } from '../../support/quotas';
import type { QuotaService } from '../../../src/platform/quotas/quota.service';
import { forkTypeScript } from '../sagas/fixtures/fork-ts';
import { dockerClient, realDocker, TEST_INSTALLATION_ID } from '../drivers/real-backends';
import { ChildRun } from './fixtures/child-run';
import type { LaunchChildMessage } from './fixtures/launch-child';
import { FakeInstanceNetwork } from '../../support/instance-network';

const docker = realDocker();
const client = dockerClient();
const CHILD = resolve('test/int/compute/fixtures/launch-child.ts');
const LABEL = `launch-int-${randomUUID().slice(0, 8)}`;
const WAIT_MS = 60_000;
const TENANT = randomUUID();

describe('instance launch saga (real PostgreSQL and Docker)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: Pool;
  let executor: CommandExecutor;
  let quotas: QuotaService;
  const driver = new DockerDriver(client, TEST_INSTALLATION_ID);
  const children: ChildRun<LaunchChildMessage>[] = [];
  const instances: string[] = [];
  let busyboxId = '';

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

  beforeAll(async () => {
    await docker.probe();
    db = await createTestDatabase('compute_launch');
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    pool = new Pool({ connectionString: db.url, max: 5 });
    executor = new CommandExecutor(store);
    quotas = computeQuotaService(executor);
    if ((await docker.probe()).reachable) {
      busyboxId = (await client.getImage('nimbus/busybox:latest').inspect()).Id;
    }
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.ensureGone();
  });

  afterAll(async () => {
    for (const id of instances) await driver.remove(id).catch(() => undefined);
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  /** What the launch handler does before starting the saga: reserve quota, record the request. */
  async function requestLaunch(
    dockerImageId: string,
    volumes: Array<{ volumeId: string; mountPath: string }> = [],
  ): Promise<string> {
    const instanceId = randomUUID();
    instances.push(instanceId);
    const type = findInstanceType('basic-1') as InstanceType;
    await quotas.reserve(
      TENANT,
      { id: instanceId, kind: 'instance' },
      instanceQuotaAmounts(type),
      ctx(),
    );
    await executor.execute(
      instanceDecider,
      instanceId,
      {
        type: 'LaunchInstance',
        instanceId,
        tenantId: TENANT,
        name: 'int-launch',
        image: { id: randomUUID(), name: 'busybox', dockerImageId },
        instanceType: type,
        vpcId: null,
        subnetId: null,
        ports: [],
        volumes,
        userData: null,
        now: new Date(),
      },
      ctx(),
    );
    return instanceId;
  }

  async function createVolume(): Promise<string> {
    const volumeId = randomUUID();
    await executor.execute(
      volumeDecider,
      volumeId,
      { type: 'CreateVolume', volumeId, tenantId: TENANT, name: 'v', sizeGb: 1, now: new Date() },
      ctx(),
    );
    return volumeId;
  }

  async function reservedFor(instanceId: string): Promise<boolean> {
    return (await quotas.holding(TENANT, instanceId)) !== null;
  }

  function spawnChild(instanceId: string, pause = ''): ChildRun<LaunchChildMessage> {
    const child = new ChildRun<LaunchChildMessage>(
      forkTypeScript(CHILD, {
        LAUNCH_TEST_DB: db.url,
        LAUNCH_PAUSE: pause,
        LAUNCH_INSTANCE: instanceId,
        LAUNCH_TENANT: TENANT,
        LAUNCH_LABEL: LABEL,
      }),
      'launch',
      WAIT_MS,
    );
    children.push(child);
    return child;
  }

  it('a launch with a missing image ends ERROR and leaves nothing behind', async (c) => {
    docker.require(c);
    const launchSaga = instanceLaunchSaga({
      executor,
      store,
      driver,
      quotas,
      network: new FakeInstanceNetwork(),
      hostCpus: 2,
      containerLabels: { 'nimbus.test': LABEL },
    });
    const runtime = new SagaRuntime({ store, pool, sagas: [launchSaga], subscribe: false });
    await runtime.start();
    try {
      const volumeId = await createVolume();
      const id = await requestLaunch('nimbus/missing-image:never', [
        { volumeId, mountPath: '/data' },
      ]);
      await runtime.startSaga(INSTANCE_LAUNCH_SAGA, id, { instanceId: id, tenantId: TENANT });
      const saga = await runtime.whenSettled(INSTANCE_LAUNCH_SAGA, id, WAIT_MS);
      expect(saga.status).toBe('compensated');

      const { state } = await executor.load(instanceDecider, id);
      expect(state.status).toBe('ERROR');
      expect(state.errorReason).toMatch(/No such image|missing-image/i);
      expect(await driver.inspect(id)).toBeNull();
      expect((await executor.load(volumeDecider, volumeId)).state.status).toBe('AVAILABLE');
      expect(await reservedFor(id)).toBe(false);
      const events = await store.readStream(`instance-${id}`);
      expect(events.at(-1)?.data).toMatchObject({ step: 'create_container' });
    } finally {
      await runtime.stop();
    }
  });

  it('killed after creating the container, a restarted process finishes the launch exactly once', async (c) => {
    docker.require(c);
    const id = await requestLaunch(busyboxId);
    const first = spawnChild(id, 'after:SagaStepSucceeded:create_container');
    await first.next('paused');
    await first.kill();
    const created = await client.getContainer(containerNameOf(id)).inspect();
    expect(created.State.Status).toBe('created');

    const second = spawnChild(id);
    expect((await second.next('settled')).status).toBe('completed');
    const { state } = await executor.load(instanceDecider, id);
    expect(state.status).toBe('RUNNING');
    const running = await client.getContainer(containerNameOf(id)).inspect();
    expect(running.Id).toBe(created.Id);
    expect(running.State.Status).toBe('running');
    const types = (await store.readStream(`instance-${id}`)).map((e) => e.type);
    expect(types.filter((t) => t === 'InstanceContainerCreated')).toHaveLength(1);
    expect(types.filter((t) => t === 'InstanceStarted')).toHaveLength(1);
  });

  it('killed while compensating, a restarted process finishes the compensation', async (c) => {
    docker.require(c);
    const id = await requestLaunch('nimbus/missing-image:never');
    const first = spawnChild(id, 'after:SagaCompensationStarted:');
    await first.next('paused');
    await first.kill();
    expect((await executor.load(instanceDecider, id)).state.status).toBe('PENDING');

    const second = spawnChild(id);
    expect((await second.next('settled')).status).toBe('compensated');
    const { state } = await executor.load(instanceDecider, id);
    expect(state.status).toBe('ERROR');
    expect(await driver.inspect(id)).toBeNull();
    expect(await reservedFor(id)).toBe(false);
  });
});
