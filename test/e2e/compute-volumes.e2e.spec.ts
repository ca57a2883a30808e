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
import { signUp, type Account } from './identity.helpers';
import { execIn as execInContainer } from '../int/compute/fixtures/exec-in';

const docker = realDocker();
const client = dockerClient();
const RUN = `compute-volumes-e2e-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';

interface InstanceBody {
  id: string;
  status: string;
  volumes: Array<{ volume_id: string; mount_path: string }>;
}

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
  let account: Account;
  let other: Account;

  const api = (apiKey: string = account.apiKey) => {
    const http = t.http();
    return {
      get: (path: string) => http.get(path).set('x-api-key', apiKey),
      post: (path: string, body?: object) =>
        http
          .post(path)
          .set('x-api-key', apiKey)
          .send(body ?? {}),
      delete: (path: string) => http.delete(path).set('x-api-key', apiKey),
    };
  };

  async function caughtUp(): Promise<void> {
    // Everything this process appended, not the readable head (which trails open transactions).
    const head = t.app.get<EventStore>(EVENT_STORE).knownHeadPosition();
    if (head) {
      await t.app
        .get(ProjectionWaiter)
        .waitFor(head, [INSTANCES_PROJECTION, VOLUMES_PROJECTION], 10_000);
    }
  }

  async function launchRunning(name: string, apiKey?: string): Promise<string> {
    const res = await api(apiKey).post('/instances', {
      name,
      image: 'busybox',
      instance_type: 'basic-1',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(INSTANCE_LAUNCH_SAGA, id, 30_000);
    await caughtUp();
    expect((await api(apiKey).get(`/instances/${id}`).expect(200)).body.status).toBe('RUNNING');
    return id;
  }

  async function instance(id: string): Promise<InstanceBody> {
    await caughtUp();
    return (await api().get(`/instances/${id}`).expect(200)).body as InstanceBody;
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
    account = await signUp(t, 'volumes');
    other = await signUp(t, 'volumes-other');
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
    const volumeId = (await api().post('/volumes', { name: 'shared', size_gb: 1 }).expect(201)).body
      .id as string;

    const attached = await api().post(`/volumes/${volumeId}/attach`, {
      instance_id: first,
      mount_path: '/data',
    });
    expect(attached.status, JSON.stringify(attached.body)).toBe(200);
    expect(await mountsOf(first)).toEqual([[`nimbus-vol-${volumeId}`, '/data']]);
    const state = (await client.getContainer(containerNameOf(first)).inspect()).State;
    expect(state.Running).toBe(true);
    expect(await instance(first)).toMatchObject({
      status: 'RUNNING',
      volumes: [{ volume_id: volumeId, mount_path: '/data' }],
    });
    expect(await execIn(first, 'cat /root-marker.txt')).toBe('before-attach');
    expect((await api().get(`/volumes/${volumeId}`).expect(200)).body).toMatchObject({
      status: 'IN_USE',
      instance_id: first,
      mount_path: '/data',
    });
    await execIn(first, 'echo written-in-volume > /data/hello.txt');
    expect(await snapshotsOf(first)).toHaveLength(1);

    // The answer already shows the detachment (read your writes), not the state before it.
    const detached = await api().post(`/volumes/${volumeId}/detach`).expect(200);
    expect(detached.body).toMatchObject({ status: 'AVAILABLE', instance_id: null });
    expect(await mountsOf(first)).toEqual([]);
    expect(await instance(first)).toMatchObject({ status: 'RUNNING', volumes: [] });
    expect(await execIn(first, 'cat /root-marker.txt; ls /data 2>/dev/null | wc -l')).toBe(
      'before-attach\n0',
    );
    // The previous snapshot is gone; only the one the container now runs from stays.
    expect(await snapshotsOf(first)).toHaveLength(1);
    expect((await api().get(`/volumes/${volumeId}`).expect(200)).body).toMatchObject({
      status: 'AVAILABLE',
      instance_id: null,
    });

    // A STOPPED instance stays STOPPED; the mount is there when it starts.
    const second = await launchRunning('remount-b');
    await api().post(`/instances/${second}/stop`).expect(200);
    await api()
      .post(`/volumes/${volumeId}/attach`, { instance_id: second, mount_path: '/mnt/shared' })
      .expect(200);
    expect((await instance(second)).status).toBe('STOPPED');
    expect(await mountsOf(second)).toEqual([[`nimbus-vol-${volumeId}`, '/mnt/shared']]);
    await api().post(`/instances/${second}/start`).expect(200);
    expect((await instance(second)).status).toBe('RUNNING');
    expect(await execIn(second, 'cat /mnt/shared/hello.txt')).toBe('written-in-volume');

    // Terminate detaches what the instance records now, and removes its snapshots.
    await api().delete(`/instances/${second}`).expect(200);
    await api().delete(`/instances/${first}`).expect(200);
    await caughtUp();
    expect((await api().get(`/volumes/${volumeId}`).expect(200)).body).toMatchObject({
      status: 'AVAILABLE',
    });
    expect(await snapshotsOf(first)).toEqual([]);
    expect(await snapshotsOf(second)).toEqual([]);
    await api().delete(`/volumes/${volumeId}`).expect(200);
  });

  it('attach to a PAUSED instance is 409 invalid_state; another tenant’s volume or instance is 404', async (ctx) => {
    docker.require(ctx);
    const id = await launchRunning('remount-paused');
    const volumeId = (await api().post('/volumes', { name: 'paused-vol', size_gb: 1 }).expect(201))
      .body.id as string;
    await api().post(`/instances/${id}/pause`).expect(200);
    const refused = await api()
      .post(`/volumes/${volumeId}/attach`, { instance_id: id, mount_path: '/data' })
      .expect(409);
    expect(refused.body.error.code).toBe('invalid_state');
    expect(await mountsOf(id)).toEqual([]);
    expect((await api().get(`/volumes/${volumeId}`).expect(200)).body.status).toBe('AVAILABLE');
    await api().post(`/instances/${id}/resume`).expect(200);

    const foreignVolume = (
      await api(other.apiKey).post('/volumes', { name: 'theirs', size_gb: 1 }).expect(201)
    ).body.id as string;
    const foreignInstance = await launchRunning('theirs', other.apiKey);
    const noVolume = await api()
      .post(`/volumes/${foreignVolume}/attach`, { instance_id: id, mount_path: '/data' })
      .expect(404);
    expect(noVolume.body.error.code).toBe('not_found');
    await api().post(`/volumes/${foreignVolume}/detach`).expect(404);
    const noInstance = await api()
      .post(`/volumes/${volumeId}/attach`, { instance_id: foreignInstance, mount_path: '/data' })
      .expect(404);
    expect(noInstance.body.error.code).toBe('not_found');
    expect(await mountsOf(foreignInstance)).toEqual([]);

    await api().delete(`/instances/${id}`).expect(200);
    await api(other.apiKey).delete(`/instances/${foreignInstance}`).expect(200);
  });
  it('a volume change cut short by a crash (container removed, not yet re-created) is finished by the reconcile', async (ctx) => {
    docker.require(ctx);
    const id = await launchRunning('remount-crash');
    await execIn(id, 'echo survived > /root-marker.txt');
    const volumeId = (await api().post('/volumes', { name: 'crash-vol', size_gb: 1 }).expect(201))
      .body.id as string;
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

    await api().delete(`/instances/${id}`).expect(200);
    await caughtUp();
    expect((await api().get(`/volumes/${volumeId}`).expect(200)).body.status).toBe('AVAILABLE');
    expect(await snapshotsOf(id)).toEqual([]);
  });
});
