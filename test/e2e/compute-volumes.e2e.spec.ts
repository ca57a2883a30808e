import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { ProjectionWaiter } from '../../projections/runtime/projection-waiter';
import { INSTANCES_PROJECTION, VOLUMES_PROJECTION } from '../../projections/compute';
import { DriftReconciler } from '../../src/compute/application/drift-reconciler';
import { ComputeLocks } from '../../src/compute/application/instances/instance-operations';
import { instanceDecider, volumeDecider } from '../../src/compute/domain';
import {
  containerNameOf,
  SNAPSHOT_REPOSITORY_PREFIX,
  snapshotReferenceOf,
} from '../../src/drivers/docker/compute-driver';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import type { AppConfig } from '../../src/config/config';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { refusedWith, sdkSignUp, unwrap, type SdkAccount } from '../support/sdk';
import { execIn as execInContainer } from '../int/compute/fixtures/exec-in';

const docker = realDocker();
const client = dockerClient();
const RUN = `compute-volumes-e2e-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';

const execIn = (instanceId: string, script: string): Promise<string> =>
  execInContainer(client, instanceId, script);

const mountsOf = async (instanceId: string) =>
  (await client.getContainer(containerNameOf(instanceId)).inspect()).Mounts.map((m) => [
    m.Name,
    m.Destination,
  ]);

const snapshotsOf = async (instanceId: string) =>
  (
    await client.listImages({
      filters: { reference: [`${SNAPSHOT_REPOSITORY_PREFIX}${instanceId}`] },
    })
  ).flatMap((i) => i.RepoTags ?? []);

describe('volume attach/detach on live instances (real Docker, e2e)', () => {
  let t: TestApp;
  let account: SdkAccount;
  let other: SdkAccount;

  const byId = (id: string) => ({ params: { path: { id } } });
  const createVolume = async (name: string, who: SdkAccount = account) =>
    unwrap(await who.sdk.POST('/volumes', { body: { name, size_gb: 1 } })).id;
  const volume = async (id: string) => unwrap(await account.sdk.GET('/volumes/{id}', byId(id)));
  const attach = (volumeId: string, instanceId: string, mountPath: string) =>
    account.sdk.POST('/volumes/{id}/attach', {
      params: { path: { id: volumeId } },
      body: { instance_id: instanceId, mount_path: mountPath },
    });
  const terminate = async (id: string, who: SdkAccount = account) =>
    unwrap(await who.sdk.DELETE('/instances/{id}', byId(id)));

  async function caughtUp(): Promise<void> {
    // Everything this process appended, not the readable head (which trails open transactions).
    const head = t.app.get<EventStore>(EVENT_STORE).knownHeadPosition();
    if (head) {
      await t.app
        .get(ProjectionWaiter)
        .waitFor(head, [INSTANCES_PROJECTION, VOLUMES_PROJECTION], 10_000);
    }
  }

  async function launchRunning(name: string, who: SdkAccount = account): Promise<string> {
    const { id } = unwrap(
      await who.sdk.POST('/instances', {
        body: { name, image: 'busybox', instance_type: 'basic-1' },
      }),
    );
    await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(INSTANCE_LAUNCH_SAGA, id, 30_000);
    await caughtUp();
    expect(unwrap(await who.sdk.GET('/instances/{id}', byId(id))).status).toBe('RUNNING');
    return id;
  }

  async function instance(id: string) {
    await caughtUp();
    return unwrap(await account.sdk.GET('/instances/{id}', byId(id)));
  }

  const appConfig: Partial<AppConfig> = {
    docker: 'docker',
    ovs: 'simulated',
    authRateLimitPerMinute: 10_000,
    containerLabel: { key: TEST_LABEL, value: RUN },
  };

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'compute_volumes_e2e', config: appConfig });
    account = await sdkSignUp(t, 'volumes');
    other = await sdkSignUp(t, 'volumes-other');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    const filters = { label: [`${TEST_LABEL}=${RUN}`] };
    for (const c of await client.listContainers({ all: true, filters }))
      await client
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    // Snapshot images carry the container's labels (docker commit copies them).
    for (const i of await client.listImages({ filters }))
      await client
        .getImage(i.Id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const v of (await client.listVolumes({ filters })).Volumes ?? [])
      await client
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
  });

  it('attach to a RUNNING instance mounts the volume, keeps the root filesystem and RUNNING; detach unmounts; the data follows the volume to a STOPPED instance', async (ctx) => {
    docker.require(ctx);
    const first = await launchRunning('remount-a');
    await execIn(first, 'echo before-attach > /root-marker.txt');
    const volumeId = await createVolume('shared');

    unwrap(await attach(volumeId, first, '/data'));
    expect(await mountsOf(first)).toEqual([[`nimbus-vol-${volumeId}`, '/data']]);
    const state = (await client.getContainer(containerNameOf(first)).inspect()).State;
    expect(state.Running).toBe(true);
    expect(await instance(first)).toMatchObject({
      status: 'RUNNING',
      volumes: [{ volume_id: volumeId, mount_path: '/data' }],
    });
    expect(await execIn(first, 'cat /root-marker.txt')).toBe('before-attach');
    expect(await volume(volumeId)).toMatchObject({
      status: 'IN_USE',
      instance_id: first,
      mount_path: '/data',
    });
    await execIn(first, 'echo written-in-volume > /data/hello.txt');
    expect(await snapshotsOf(first)).toHaveLength(1);

    // The answer already shows the detachment (read your writes), not the state before it.
    const detached = unwrap(await account.sdk.POST('/volumes/{id}/detach', byId(volumeId)));
    expect(detached).toMatchObject({ status: 'AVAILABLE', instance_id: null });
    expect(await mountsOf(first)).toEqual([]);
    expect(await instance(first)).toMatchObject({ status: 'RUNNING', volumes: [] });
    expect(await execIn(first, 'cat /root-marker.txt; ls /data 2>/dev/null | wc -l')).toBe(
      'before-attach\n0',
    );
    // The previous snapshot is gone; only the one the container now runs from stays.
    expect(await snapshotsOf(first)).toHaveLength(1);
    expect(await volume(volumeId)).toMatchObject({ status: 'AVAILABLE', instance_id: null });

    // A STOPPED instance stays STOPPED; the mount is there when it starts.
    const second = await launchRunning('remount-b');
    unwrap(await account.sdk.POST('/instances/{id}/stop', byId(second)));
    unwrap(await attach(volumeId, second, '/mnt/shared'));
    expect((await instance(second)).status).toBe('STOPPED');
    expect(await mountsOf(second)).toEqual([[`nimbus-vol-${volumeId}`, '/mnt/shared']]);
    unwrap(await account.sdk.POST('/instances/{id}/start', byId(second)));
    expect((await instance(second)).status).toBe('RUNNING');
    expect(await execIn(second, 'cat /mnt/shared/hello.txt')).toBe('written-in-volume');

    // Terminate detaches what the instance records now, and removes its snapshots.
    await terminate(second);
    await terminate(first);
    await caughtUp();
    expect(await volume(volumeId)).toMatchObject({ status: 'AVAILABLE' });
    expect(await snapshotsOf(first)).toEqual([]);
    expect(await snapshotsOf(second)).toEqual([]);
    unwrap(await account.sdk.DELETE('/volumes/{id}', byId(volumeId)));
  });

  it('attach to a PAUSED instance is 409 invalid_state; another tenant’s volume or instance is 404', async (ctx) => {
    docker.require(ctx);
    const id = await launchRunning('remount-paused');
    const volumeId = await createVolume('paused-vol');
    unwrap(await account.sdk.POST('/instances/{id}/pause', byId(id)));
    refusedWith(await attach(volumeId, id, '/data'), 409, 'invalid_state');
    expect(await mountsOf(id)).toEqual([]);
    expect((await volume(volumeId)).status).toBe('AVAILABLE');
    unwrap(await account.sdk.POST('/instances/{id}/resume', byId(id)));

    const foreignVolume = await createVolume('theirs', other);
    const foreignInstance = await launchRunning('theirs', other);
    refusedWith(await attach(foreignVolume, id, '/data'), 404, 'not_found');
    refusedWith(
      await account.sdk.POST('/volumes/{id}/detach', byId(foreignVolume)),
      404,
      'not_found',
    );
    refusedWith(await attach(volumeId, foreignInstance, '/data'), 404, 'not_found');
    expect(await mountsOf(foreignInstance)).toEqual([]);

    await terminate(id);
    await terminate(foreignInstance, other);
  });
  it('a volume change cut short by a crash (container removed, not yet re-created) is finished by the reconcile', async (ctx) => {
    docker.require(ctx);
    const id = await launchRunning('remount-crash');
    await execIn(id, 'echo survived > /root-marker.txt');
    const volumeId = await createVolume('crash-vol');
    const executor = t.app.get(CommandExecutor);
    const system = (): CommandContext => ({
      commandId: randomUUID(),
      tenantId: account.tenantId,
      actor: { type: 'system', id: 'test:crash' },
      requestId: null,
      sourceIp: null,
      correlationId: randomUUID(),
      causationId: null,
      now: new Date(),
    });
    const snapshot = snapshotReferenceOf(id, 'crashed');
    const [repo, tag] = snapshot.split(':');
    // What the attach handler had done when its process died: the attachment and the change
    // recorded, the container committed and removed, the new one not created yet. The
    // instance's lock keeps the engine events' reconciles out until the "crash".
    await t.app.get(ComputeLocks).instance.run(id, async () => {
      await executor.execute(
        volumeDecider,
        volumeId,
        { type: 'AttachVolume', instanceId: id, mountPath: '/data', now: new Date() },
        system(),
      );
      await executor.execute(
        instanceDecider,
        id,
        {
          type: 'RequestVolumesChange',
          volumes: [{ volumeId, mountPath: '/data' }],
          snapshot,
          now: new Date(),
        },
        system(),
      );
      const container = client.getContainer(containerNameOf(id));
      await container.stop({ t: 1 });
      await container.commit({ repo, tag });
      await container.remove({ force: true });
    });
    const reconciler = t.app.get(DriftReconciler);
    await reconciler.reconcile(id);
    await reconciler.idle();

    expect(await mountsOf(id)).toEqual([[`nimbus-vol-${volumeId}`, '/data']]);
    expect(await execIn(id, 'cat /root-marker.txt')).toBe('survived');
    const { state } = await executor.load(instanceDecider, id);
    expect(state.status).toBe('RUNNING');
    expect(state.volumeChange).toBeNull();
    expect(state.volumes).toEqual([{ volumeId, mountPath: '/data' }]);
    expect((await instance(id)).status).toBe('RUNNING');

    await terminate(id);
    await caughtUp();
    expect((await volume(volumeId)).status).toBe('AVAILABLE');
    expect(await snapshotsOf(id)).toEqual([]);
  });
});
