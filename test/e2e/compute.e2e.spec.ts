import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { ProjectionWaiter } from '../../projections/runtime/projection-waiter';
import {
  IMAGES_PROJECTION,
  INSTANCES_PROJECTION,
  QUOTA_PROJECTION,
} from '../../projections/compute';
import { DriftReconciler } from '../../src/compute/application/drift-reconciler';
import { systemImageId } from '../../src/compute/domain';
import { QuotaService } from '../../src/platform/quotas/quota.service';
import { ImageImports } from '../../src/compute/application/images/image-imports';
import { containerNameOf } from '../../src/drivers/docker/compute-driver';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import type { AppConfig } from '../../src/config/config';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

const docker = realDocker();
const client = dockerClient();
const RUN = `compute-e2e-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';
const MIB = 1024 * 1024;
const QUOTA_INSTANCES = 3;

interface InstanceBody {
  id: string;
  status: string;
  error_reason: string | null;
  exit_code: number | null;
  container_id: string | null;
  instance_type: string;
}

describe('compute on real Docker (e2e)', () => {
  let t: TestApp;
  let account: Account;
  let restarted: { drop: () => Promise<void>; dataDir: string } | undefined;

  const api = (apiKey: string = account.apiKey) => {
    const http = conformingHttp(t);
    const auth = (req: ReturnType<typeof http.get>) => req.set('x-api-key', apiKey);
    return {
      get: (path: string) => auth(http.get(path)),
      post: (path: string, body?: object) => auth(http.post(path)).send(body ?? {}),
      patch: (path: string, body: object) => auth(http.patch(path)).send(body),
      delete: (path: string) => auth(http.delete(path)),
    };
  };

  /** Waits for the launch saga to finish, then for the instances read model to show it. */
  async function launched(id: string, apiKey?: string): Promise<InstanceBody> {
    const runtime = t.app.get<SagaRuntime>(SAGA_RUNTIME);
    await runtime.whenSettled(INSTANCE_LAUNCH_SAGA, id, 30_000);
    // The instance's own last event, not the store's head: the head is the position below which
    // every transaction has committed, and it lags while any older transaction is still open.
    const store = t.app.get<EventStore>(EVENT_STORE);
    const last = (await store.readStream(`instance-${id}`)).at(-1);
    if (last) {
      expect(
        await t.app.get(ProjectionWaiter).waitFor(last.position, [INSTANCES_PROJECTION], 10_000),
      ).toBe(true);
    }
    const res = await api(apiKey).get(`/instances/${id}`);
    expect(res.status).toBe(200);
    return res.body as InstanceBody;
  }

  async function caughtUp(): Promise<void> {
    // Everything this process appended, not the readable head (which trails open transactions).
    const head = t.app.get<EventStore>(EVENT_STORE).knownHeadPosition();
    if (head) {
      await t.app
        .get(ProjectionWaiter)
        .waitFor(head, [INSTANCES_PROJECTION, IMAGES_PROJECTION], 10_000);
    }
  }

  /**
   * The `action:status` of the audit rows of a resource, once they include `expected` (the audit
   * log is a projection: polled until it has them, or until the wait ends).
   */
  async function auditedActions(resource: string, expected: string[]): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api().get(`/audit?resource=${resource}&limit=200`).expect(200);
      const rows = res.body as Array<{ action: string; status: string }>;
      const actions = rows.map((r) => `${r.action}:${r.status}`);
      if (expected.every((a) => actions.includes(a)) || Date.now() > deadline) return actions;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Polls until the instance reaches `status` (the engine's events arrive asynchronously). */
  async function eventually(id: string, status: string, timeoutMs = 20_000): Promise<InstanceBody> {
    const deadline = Date.now() + timeoutMs;
    let last: InstanceBody | undefined;
    while (Date.now() < deadline) {
      const res = await api().get(`/instances/${id}`);
      last = res.body as InstanceBody;
      if (last.status === status) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`instance ${id} did not reach ${status}; last: ${JSON.stringify(last)}`);
  }

  async function launch(name: string, type = 'basic-1', extra: object = {}) {
    return api().post('/instances', { name, image: 'busybox', instance_type: type, ...extra });
  }

  const inspect = (id: string) => client.getContainer(containerNameOf(id)).inspect();

  /** The settings of this file's application, the same after the restart test's restart. */
  const appConfig: Partial<AppConfig> = {
    docker: 'docker',
    ovs: 'simulated',
    authRateLimitPerMinute: 10_000,
    containerLabel: { key: TEST_LABEL, value: RUN },
    quota: { instances: QUOTA_INSTANCES, vcpus: 16, memoryMb: 8192, volumes: 20 },
    // The URL import test serves its tarball on loopback.
    imageImportAllowPrivate: true,
  };

  beforeAll(async () => {
    await docker.probe();
    if (!(await docker.probe()).reachable) return;
    t = await startTestApp({ label: 'compute_e2e', config: appConfig });
    account = await signUp(t, 'compute');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (restarted) {
      await restarted.drop();
      rmSync(restarted.dataDir, { recursive: true, force: true });
    }
    const leftovers = await client.listContainers({
      all: true,
      filters: { label: [`${TEST_LABEL}=${RUN}`] },
    });
    for (const c of leftovers)
      await client
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    const volumes = await client.listVolumes({ filters: { label: [`${TEST_LABEL}=${RUN}`] } });
    for (const v of volumes.Volumes ?? [])
      await client
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
  });

  it('lists the instance types and the public busybox image', async (ctx) => {
    docker.require(ctx);
    const types = await api().get('/instance-types').expect(200);
    expect(types.body.map((x: { id: string }) => x.id)).toContain('basic-2');
    expect(types.body.find((x: { id: string }) => x.id === 'basic-2')).toMatchObject({
      vcpus: 1,
      memory_mb: 1024,
      price_per_hour: 0.02,
      category: 'general-purpose',
    });
    const images = await api().get('/images').expect(200);
    expect(images.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'busybox', status: 'ACTIVE', is_public: true }),
      ]),
    );
  });

  it('launch reaches RUNNING with the type limits; pause, resume, resize, stop, start, terminate act on the engine', async (ctx) => {
    docker.require(ctx);
    const res = await launch('web-01', 'basic-2', { tags: { team: 'core' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(['PENDING', 'STARTING', 'RUNNING']).toContain(res.body.status);
    const id = res.body.id as string;

    const running = await launched(id);
    expect(running.status).toBe('RUNNING');
    let info = await inspect(id);
    expect(info.State.Status).toBe('running');
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.Memory).toBe(1024 * MIB);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Config.Labels['nimbus.instance']).toBe(id);

    const etag = (await api().get(`/instances/${id}`).expect(200)).headers.etag;
    expect(etag).toMatch(/^W\/"\d+"$/);

    const paused = await api().post(`/instances/${id}/pause`).expect(200);
    expect(paused.body).toMatchObject({
      message: 'instance paused',
      instance: { status: 'PAUSED' },
    });
    expect((await inspect(id)).State.Status).toBe('paused');
    const again = await api().post(`/instances/${id}/pause`).expect(409);
    expect(again.body.error.code).toBe('invalid_state');
    await api().post(`/instances/${id}/resume`).expect(200);
    expect((await inspect(id)).State.Status).toBe('running');

    const resized = await api()
      .post(`/instances/${id}/resize`, { instance_type: 'basic-4' })
      .expect(200);
    expect(resized.body).toMatchObject({
      message: 'instance resized',
      instance: { instance_type: 'basic-4' },
    });
    info = await inspect(id);
    expect([info.HostConfig.NanoCpus, info.HostConfig.Memory]).toEqual([2e9, 2048 * MIB]);
    expect(info.State.Status).toBe('running');
    await api().post(`/instances/${id}/resize`, { instance_type: 'nope-9' }).expect(400);
    const overQuota = await api()
      .post(`/instances/${id}/resize`, { instance_type: 'performance-1' })
      .expect(403);
    expect(overQuota.body.error).toMatchObject({
      code: 'quota_exceeded',
      details: { resource: 'memory_mb', limit: 8192 },
    });
    expect((await inspect(id)).HostConfig.Memory).toBe(2048 * MIB);
    await api().post(`/instances/${randomUUID()}/resize`, { instance_type: 'basic-2' }).expect(404);

    const stopped = await api().post(`/instances/${id}/stop`).expect(200);
    expect(stopped.body.instance.status).toBe('STOPPED');
    expect((await inspect(id)).State.Status).toBe('exited');
    const started = await api().post(`/instances/${id}/start`).expect(200);
    expect(started.body.instance.status).toBe('RUNNING');
    expect((await inspect(id)).State.Status).toBe('running');

    await api().post(`/instances/${id}/reboot`).expect(200);
    expect((await inspect(id)).State.Status).toBe('running');

    const renamed = await api()
      .patch(`/instances/${id}`, { name: 'web-02', tags: { team: 'edge' } })
      .expect(200);
    expect(renamed.body).toMatchObject({ name: 'web-02', tags: { team: 'edge' } });

    // Every request above is in the audit log, renames, tag changes and reboots included.
    const audited = [
      'INSTANCE_LAUNCH:success',
      'INSTANCE_PAUSE:success',
      'INSTANCE_RESUME:success',
      'INSTANCE_RESIZE:success',
      'INSTANCE_STOP:success',
      'INSTANCE_START:success',
      'INSTANCE_REBOOT:success',
      'INSTANCE_RENAME:success',
      'INSTANCE_TAGS_CHANGE:success',
    ];
    expect(await auditedActions(`instance/${id}`, audited)).toEqual(
      expect.arrayContaining(audited),
    );

    const terminated = await api().delete(`/instances/${id}`).expect(200);
    expect(terminated.body.status).toBe('TERMINATED');
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    const list = await api().get('/instances').expect(200);
    expect(list.body.find((i: InstanceBody) => i.id === id)?.status).toBe('TERMINATED');
  });

  it('notices a container killed behind its back (STOPPED with exit code) and one removed (ERROR)', async (ctx) => {
    docker.require(ctx);
    const a = (await launch('drift-kill')).body.id as string;
    const b = (await launch('drift-remove')).body.id as string;
    await launched(a);
    await launched(b);
    await client.getContainer(containerNameOf(a)).kill();
    const killed = await eventually(a, 'STOPPED');
    expect(killed.exit_code).toBe(137);
    await client.getContainer(containerNameOf(b)).remove({ force: true });
    const vanished = await eventually(b, 'ERROR');
    expect(vanished.error_reason).toMatch(/removed outside Nimbus/);
    await api().delete(`/instances/${a}`).expect(200);
    await api().delete(`/instances/${b}`).expect(200);
  });

  it('a launch whose container cannot be created ends ERROR with nothing left behind', async (ctx) => {
    docker.require(ctx);
    // An image whose engine image has gone: the create_container step fails permanently.
    const image = await api().post('/images', { name: 'doomed-image' }).expect(201);
    const imageId = image.body.id as string;
    {
      // Record the image as imported from an engine image that does not exist.
      const store = t.app.get<EventStore>(EVENT_STORE);
      const stream = await store.readStream(`image-${imageId}`);
      await store.append(
        `image-${imageId}`,
        [
          {
            id: randomUUID(),
            type: 'ImageImportStarted',
            data: { imageId, source: 'upload', url: null, at: new Date().toISOString() },
            metadata: stream[0].metadata,
          },
          {
            id: randomUUID(),
            type: 'ImageImported',
            data: {
              imageId,
              dockerImageId: 'nimbus/no-such-image:gone',
              sizeBytes: 1,
              at: new Date().toISOString(),
            },
            metadata: stream[0].metadata,
          },
        ],
        stream[stream.length - 1].revision,
      );
    }
    const res = await api().post('/instances', {
      name: 'doomed',
      image: imageId,
      instance_type: 'basic-1',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    const failed = await launched(id);
    expect(failed.status).toBe('ERROR');
    expect(failed.error_reason).toMatch(/no-such-image|No such image/i);
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    // The quota was released: the tenant can still use its whole quota.
    const logs = await api().get(`/logs/${id}`).expect(200);
    expect(logs.body.map((l: { message: string }) => l.message).join('\n')).toMatch(
      /launch failed at create_container/,
    );
  });

  it("a container the engine cannot start ends the launch in ERROR with the engine's reason, not as removed outside Nimbus", async (ctx) => {
    docker.require(ctx);
    // A root filesystem without a shell imports fine, but the engine cannot start its command.
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-noshell-'));
    writeFileSync(join(dir, 'README'), 'no shell in here\n');
    const { stdout: rootfs } = await promisify(execFile)('tar', ['-cf', '-', '-C', dir, '.'], {
      encoding: 'buffer',
    });
    rmSync(dir, { recursive: true, force: true });
    const registered = await api().post('/images', { name: 'no-shell' }).expect(201);
    const imageId = registered.body.id as string;
    const uploaded = await t
      .http()
      .post(`/images/${imageId}/upload`)
      .set('x-api-key', account.apiKey)
      .attach('file', rootfs, 'rootfs.tar');
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);

    const res = await api().post('/instances', {
      name: 'cannot-start',
      image: imageId,
      instance_type: 'basic-1',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    const failed = await launched(id);
    expect(failed.status).toBe('ERROR');
    // The engine's own error, recorded by the launch's compensation; removing the container
    // while compensating is not a container "removed outside Nimbus".
    expect(failed.error_reason).not.toMatch(/outside Nimbus/);
    expect(failed.error_reason).toMatch(/start_container|executable file not found|no such file/i);
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    await api().delete(`/instances/${id}`).expect(200);
  });

  it('validation: bad names and ports are 400, unknown image or type 400, another tenant 404', async (ctx) => {
    docker.require(ctx);
    for (const name of ['', 'x'.repeat(65), 'bad name', 'émoji😀']) {
      expect((await launch(name)).status).toBe(400);
    }
    expect((await launch('p1', 'basic-1', { ports: '80' })).status).toBe(400);
    expect((await launch('p2', 'basic-1', { ports: '70000:80' })).status).toBe(400);
    expect((await launch('p3', 'nope-1')).status).toBe(400);
    expect((await launch('p4', 'basic-1', { ports: '1:2,'.repeat(11).slice(0, -1) })).status).toBe(
      400,
    );
    const unknownImage = await api().post('/instances', {
      name: 'x',
      image: 'nope',
      instance_type: 'basic-1',
    });
    expect(unknownImage.status).toBe(400);
    // No VPC exists yet (networking is a later context): any vpc or subnet id is not found.
    const vpc = await launch('v1', 'basic-1', { vpc_id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' });
    expect(vpc.status).toBe(404);
    expect(vpc.body.error).toMatchObject({ code: 'not_found', details: { resource: 'vpc' } });
    const subnet = await launch('v2', 'basic-1', {
      subnet_id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e40',
    });
    expect(subnet.status).toBe(404);
    const other = await signUp(t, 'other');
    const mine = await launch('mine', 'basic-1', { ports: '18080:80' });
    const id = mine.body.id as string;
    await launched(id);
    const taken = await launch('same-port', 'basic-1', { ports: '18081:81, 18080:80' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'conflict', details: { port: 18080 } });
    const theirs = await conformingHttp(t).get(`/instances/${id}`).set('x-api-key', other.apiKey);
    expect(theirs.status).toBe(404);
    const theirStop = await t
      .http()
      .post(`/instances/${id}/stop`)
      .set('x-api-key', other.apiKey)
      .send({});
    expect(theirStop.status).toBe(404);
    await api().delete(`/instances/${id}`).expect(200);
  });

  it('console: a WebSocket shell in the container', async (ctx) => {
    docker.require(ctx);
    const id = (await launch('console')).body.id as string;
    await launched(id);
    const res = await api().get(`/instances/${id}/console`).expect(200);
    const url = (res.body.console_url as string).replace(
      /^ws:\/\/[^/]+/,
      t.baseUrl.replace('http', 'ws'),
    );
    const ws = new WebSocket(url);
    let output = '';
    const seen = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        output += data.toString('utf8');
        if (output.includes('hello-console-42')) resolve();
      });
      ws.on('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });
    ws.send('echo hello-console-$((40+2))\n');
    await seen;
    ws.close();
    const bad = new WebSocket(
      `${t.baseUrl.replace('http', 'ws')}/instances/${id}/console/ws?token=forged.token`,
    );
    await expect(
      new Promise((resolve, reject) => {
        bad.on('open', resolve);
        bad.on('error', reject);
      }),
    ).rejects.toThrow(/401/);
    const metrics = await api().get(`/instances/${id}/metrics`).expect(200);
    expect(metrics.body.memory_limit_bytes).toBe(512 * MIB);
    await api().delete(`/instances/${id}`).expect(200);
  });

  /** A bootable root filesystem: the busybox image's files, exported from a created container. */
  async function busyboxRootfs(): Promise<Buffer> {
    const container = await client.createContainer({
      Image: 'nimbus/busybox:latest',
      Cmd: ['true'],
      Labels: { [TEST_LABEL]: RUN },
    });
    try {
      const stream = await container.export();
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } finally {
      await container.remove({ force: true });
    }
  }

  it("image names: a system image's name is reserved; a name several tenants publish is ambiguous", async (ctx) => {
    docker.require(ctx);
    // Tenant A cannot take the name of a system image, neither by registering nor importing.
    const before = await countEvents(t, ['AccessDenied']);
    const hijack = await api().post('/images', { name: 'busybox', is_public: true }).expect(409);
    expect(hijack.body.error.code).toBe('conflict');
    expect(hijack.body.error.message).toMatch(/"busybox" is reserved: a system image has it/);
    const hijackByUrl = await api()
      .post('/images/import', { name: 'busybox', url: 'http://127.0.0.1:9/rootfs.tar' })
      .expect(409);
    expect(hijackByUrl.body.error.code).toBe('conflict');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    // Two tenants publish an image under one name; a third tenant launching by that name gets
    // 409 listing both, and launches by id instead.
    const rootfs = await busyboxRootfs();
    const name = `shared-${RUN}`;
    const publishers = [await signUp(t, 'publisher-1'), await signUp(t, 'publisher-2')];
    const ids: string[] = [];
    for (const publisher of publishers) {
      const registered = await api(publisher.apiKey)
        .post('/images', { name, is_public: true })
        .expect(201);
      const uploaded = await t
        .http()
        .post(`/images/${registered.body.id as string}/upload`)
        .set('x-api-key', publisher.apiKey)
        .attach('file', rootfs, 'rootfs.tar');
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
      ids.push(registered.body.id as string);
    }
    await caughtUp();
    const caller = await signUp(t, 'image-caller');
    const ambiguous = await api(caller.apiKey)
      .post('/instances', { name: 'by-name', image: name, instance_type: 'basic-1' })
      .expect(409);
    expect(ambiguous.body.error.code).toBe('ambiguous_image');
    expect([...ambiguous.body.error.details.candidates].sort()).toEqual([...ids].sort());
    expect(ambiguous.body.error.message).toContain('launch by image id');
    // Each publisher's own image wins for the publisher; the system name boots the system image.
    const own = await api(publishers[0].apiKey)
      .post('/instances', { name: 'own', image: name, instance_type: 'basic-1' })
      .expect(202);
    const byId = await api(caller.apiKey)
      .post('/instances', { name: 'by-id', image: ids[1], instance_type: 'basic-1' })
      .expect(202);
    const system = await api(caller.apiKey)
      .post('/instances', { name: 'system', image: 'busybox', instance_type: 'basic-1' })
      .expect(202);
    expect((await launched(own.body.id as string, publishers[0].apiKey)).status).toBe('RUNNING');
    const views = [
      await launched(byId.body.id as string, caller.apiKey),
      await launched(system.body.id as string, caller.apiKey),
    ];
    expect(views.map((v) => v.status)).toEqual(['RUNNING', 'RUNNING']);
    const ownView = await api(publishers[0].apiKey).get(`/instances/${own.body.id as string}`);
    expect(ownView.body.image_id).toBe(ids[0]);
    expect(views[0]).toMatchObject({ image_id: ids[1] });
    expect(views[1]).toMatchObject({ image_id: systemImageId('busybox') });
    await api(publishers[0].apiKey)
      .delete(`/instances/${own.body.id as string}`)
      .expect(200);
    await api(caller.apiKey)
      .delete(`/instances/${byId.body.id as string}`)
      .expect(200);
    await api(caller.apiKey)
      .delete(`/instances/${system.body.id as string}`)
      .expect(200);
  });

  it('images: upload a rootfs tarball, launch from it; import by URL; delete is 409 while used', async (ctx) => {
    docker.require(ctx);
    const rootfs = await busyboxRootfs();
    const registered = await api().post('/images', { name: 'my-rootfs', os: 'linux' }).expect(201);
    expect(registered.body).toMatchObject({ status: 'PENDING', is_public: false });
    const imageId = registered.body.id as string;
    const uploaded = await t
      .http()
      .post(`/images/${imageId}/upload`)
      .set('x-api-key', account.apiKey)
      .attach('file', rootfs, 'rootfs.tar');
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
    expect(uploaded.body, JSON.stringify(uploaded.body)).toMatchObject({
      id: imageId,
      status: 'ACTIVE',
    });
    expect(uploaded.body.size_bytes).toBeGreaterThan(0);
    await client.getImage(`nimbus/img-${imageId}:latest`).inspect();

    const launchRes = await api()
      .post('/instances', { name: 'from-upload', image: imageId, instance_type: 'basic-1' })
      .expect(202);
    const instanceId = launchRes.body.id as string;
    expect((await launched(instanceId)).status).toBe('RUNNING');
    const inUse = await api().delete(`/images/${imageId}`).expect(409);
    expect(inUse.body.error.code).toBe('dependency_violation');
    await api().delete(`/instances/${instanceId}`).expect(200);
    await api().delete(`/images/${imageId}`).expect(200);
    await api().get(`/images/${imageId}`).expect(404);
    const uploadAudit = ['IMAGE_REGISTER:success', 'IMAGE_IMPORT:success', 'IMAGE_DELETE:success'];
    expect(await auditedActions(`image/${imageId}`, uploadAudit)).toEqual(
      expect.arrayContaining(uploadAudit),
    );

    const server: Server = createServer((req, res) => {
      if (req.url === '/rootfs.tar') {
        res.writeHead(200, { 'content-type': 'application/x-tar' });
        res.end(rootfs);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const imported = await api()
        .post('/images/import', { name: 'from-url', url: `http://127.0.0.1:${port}/rootfs.tar` })
        .expect(202);
      expect(imported.body.status).toBe('PENDING');
      const missing = await api()
        .post('/images/import', { name: 'missing', url: `http://127.0.0.1:${port}/nothing.tar` })
        .expect(202);
      await t.app.get(ImageImports).idle();
      await caughtUp();
      const active = await api()
        .get(`/images/${imported.body.id as string}`)
        .expect(200);
      expect(active.body.status).toBe('ACTIVE');
      const failed = await api()
        .get(`/images/${missing.body.id as string}`)
        .expect(200);
      expect(failed.body).toMatchObject({ status: 'ERROR' });
      expect(failed.body.error_reason).toMatch(/404/);
      // The import by URL is audited; a failed one twice: requested, then failed.
      expect(
        await auditedActions(`image/${imported.body.id as string}`, ['IMAGE_IMPORT:success']),
      ).toContain('IMAGE_IMPORT:success');
      const failedImport = ['IMAGE_IMPORT:success', 'IMAGE_IMPORT:failure'];
      expect(await auditedActions(`image/${missing.body.id as string}`, failedImport)).toEqual(
        expect.arrayContaining(failedImport),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const ftp = await api().post('/images/import', { name: 'ftp', url: 'ftp://127.0.0.1/x.tar' });
    expect(ftp.status).toBe(400);
  });

  it('volumes: create, mount at launch, 409 on delete while attached, detach on terminate, logs searchable', async (ctx) => {
    docker.require(ctx);
    const volume = await api().post('/volumes', { name: 'data-vol', size_gb: 1 }).expect(201);
    expect(volume.body).toMatchObject({ status: 'AVAILABLE', size_gb: 1 });
    const volumeId = volume.body.id as string;
    const res = await launch('with-volume', 'basic-1', {
      volumes: [{ volume_id: volumeId, mount_path: '/data' }],
      user_data: 'echo marker-from-user-data; echo kept > /data/kept.txt',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    expect((await launched(id)).status).toBe('RUNNING');
    const mounts = (await inspect(id)).Mounts.map((m) => [m.Name, m.Destination]);
    expect(mounts).toEqual([[`nimbus-vol-${volumeId}`, '/data']]);
    const attached = await api().get(`/volumes/${volumeId}`).expect(200);
    expect(attached.body).toMatchObject({ status: 'IN_USE', instance_id: id, mount_path: '/data' });
    const refused = await api().delete(`/volumes/${volumeId}`).expect(409);
    expect(refused.body.error.code).toBe('dependency_violation');

    // Console output is collected on read; platform lines come from the events.
    let found: Array<{ message: string; source: string }> = [];
    for (let i = 0; i < 50 && !found.some((l) => l.message === 'marker-from-user-data'); i++) {
      found = (await api().get(`/logs/${id}?limit=50`).expect(200)).body;
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'marker-from-user-data', source: 'console' }),
        expect.objectContaining({
          source: 'platform',
          message: expect.stringMatching(/instance running/),
        }),
      ]),
    );
    const searched = await api()
      .get(`/logs?search=marker-from-user-data&resource_type=instance`)
      .expect(200);
    expect(searched.body.map((l: { resource_id: string }) => l.resource_id)).toContain(id);
    const errors = await api().get(`/logs?resource_id=${id}&level=ERROR`).expect(200);
    expect(errors.body).toEqual([]);

    await api().delete(`/instances/${id}`).expect(200);
    await caughtUp();
    const detached = await api().get(`/volumes/${volumeId}`).expect(200);
    expect(detached.body).toMatchObject({ status: 'AVAILABLE', instance_id: null });
    await api().delete(`/volumes/${volumeId}`).expect(200);
    await expect(client.getVolume(`nimbus-vol-${volumeId}`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('on restart, the first reconcile (before ready) records what happened while the API was down', async (ctx) => {
    docker.require(ctx);
    const id = (await launch('while-down')).body.id as string;
    expect((await launched(id)).status).toBe('RUNNING');
    const ready = await conformingHttp(t).get('/health/ready').expect(200);
    expect(ready.body.checks.compute).toBe('RECONCILED');

    const database = t.database;
    const dataDir = t.config.dataDir;
    // The database and the data dir (server keys) outlive this app; afterAll drops them.
    restarted = { drop: () => database.drop(), dataDir };
    await t.app.close();
    await client.getContainer(containerNameOf(id)).kill();
    t = await startTestApp({ label: 'compute_e2e', database, config: { ...appConfig, dataDir } });
    for (let i = 0; i < 100; i++) {
      const res = await conformingHttp(t).get('/health/ready');
      if (res.body.checks?.compute === 'RECONCILED') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await caughtUp();
    const after = await api().get(`/instances/${id}`).expect(200);
    expect(after.body).toMatchObject({ status: 'STOPPED', exit_code: 137 });
    await api().delete(`/instances/${id}`).expect(200);
  });

  it('releases a reservation whose instance was never recorded (a crash between reserve and launch)', async (ctx) => {
    docker.require(ctx);
    const tenant = await signUp(t, 'orphan');
    const orphan = randomUUID();
    const longAgo = new Date(Date.now() - 3_600_000);
    await t.app.get(QuotaService).reserve(
      tenant.tenantId,
      { id: orphan, kind: 'instance' },
      { instances: 1, vcpus: 1, memory_mb: 512 },
      {
        commandId: randomUUID(),
        tenantId: tenant.tenantId,
        actor: { type: 'system', id: 'test' },
        requestId: null,
        sourceIp: null,
        correlationId: randomUUID(),
        causationId: null,
        now: longAgo,
      },
    );
    const head = t.app.get<EventStore>(EVENT_STORE).knownHeadPosition();
    if (head) await t.app.get(ProjectionWaiter).waitFor(head, [QUOTA_PROJECTION], 10_000);
    expect(await t.app.get(DriftReconciler).releaseOrphanReservations()).toBe(1);
    expect(await t.app.get(QuotaService).holding(tenant.tenantId, orphan)).toBeNull();
    expect(await t.app.get(DriftReconciler).releaseOrphanReservations()).toBe(0);
  });

  it(`quota: ${QUOTA_INSTANCES + 1} concurrent launches against a quota of ${QUOTA_INSTANCES} -> exactly ${QUOTA_INSTANCES} succeed`, async (ctx) => {
    docker.require(ctx);
    const tenant = await signUp(t, 'quota');
    const results = await Promise.all(
      Array.from({ length: QUOTA_INSTANCES + 1 }, (_, i) =>
        t
          .http()
          .post('/instances')
          .set('x-api-key', tenant.apiKey)
          .send({ name: `q-${i}`, image: 'busybox', instance_type: 'basic-1' }),
      ),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 403);
    expect(accepted).toHaveLength(QUOTA_INSTANCES);
    expect(refused).toHaveLength(1);
    expect(refused[0].body.error).toMatchObject({
      code: 'quota_exceeded',
      details: { resource: 'instances', limit: QUOTA_INSTANCES, current: QUOTA_INSTANCES },
    });
    for (const r of accepted) {
      const body = await launched(r.body.id as string, tenant.apiKey);
      expect(body.status).toBe('RUNNING');
      await conformingHttp(t)
        .delete(`/instances/${body.id}`)
        .set('x-api-key', tenant.apiKey)
        .expect(200);
    }
  });
});
