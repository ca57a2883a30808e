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
import { dockerClient, realDocker, removeLabelledContainers } from '../int/drivers/real-backends';
import type { AppConfig } from '../../src/config/config';
import { startTestApp, type TestApp } from '../support/app';
import {
  auditedActions,
  conformingHttp,
  itemsOf,
  refusedWith,
  sdkFor,
  sdkSignUp,
  unwrap,
  type NimbusClient,
  type Schemas,
  type SdkAccount,
} from '../support/sdk';
import { countEvents } from './identity.helpers';

const docker = realDocker();
const client = dockerClient();
const RUN = `compute-e2e-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';
const MIB = 1024 * 1024;
const QUOTA_INSTANCES = 3;

type Instance = Schemas['Instance'];
type LaunchBody = Schemas['LaunchInstanceDto'];

const byId = (id: string) => ({ params: { path: { id } } });

describe('compute on real Docker (e2e)', () => {
  let t: TestApp;
  let account: SdkAccount;
  let restarted: { drop: () => Promise<void>; dataDir: string } | undefined;

  /** The SDK of the current app (the restart test replaces it) with an account's key. */
  const sdk = (apiKey: string = account.apiKey): NimbusClient => sdkFor(t, { apiKey });

  /** Waits for the launch saga to finish, then for the instances read model to show it. */
  async function launched(id: string, apiKey?: string): Promise<Instance> {
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
    return unwrap(await sdk(apiKey).GET('/instances/{id}', byId(id)));
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

  /** Polls until the instance reaches `status` (the engine's events arrive asynchronously). */
  async function eventually(id: string, status: string, timeoutMs = 20_000): Promise<Instance> {
    const deadline = Date.now() + timeoutMs;
    let last: Instance | undefined;
    while (Date.now() < deadline) {
      last = unwrap(await sdk().GET('/instances/{id}', byId(id)));
      if (last.status === status) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`instance ${id} did not reach ${status}; last: ${JSON.stringify(last)}`);
  }

  function launch(name: string, type = 'basic-1', extra: Partial<LaunchBody> = {}) {
    return sdk().POST('/instances', {
      body: { name, image: 'busybox', instance_type: type, ...extra },
    });
  }

  /** The id of an accepted launch (202). */
  async function launchedId(name: string, type = 'basic-1', extra: Partial<LaunchBody> = {}) {
    return unwrap(await launch(name, type, extra)).id;
  }

  const terminate = async (id: string, apiKey?: string) =>
    unwrap(await sdk(apiKey).DELETE('/instances/{id}', byId(id)));

  /** Uploads a root filesystem tarball (multipart bytes: supertest's attach, not the SDK). */
  const upload = (imageId: string, rootfs: Buffer, apiKey: string = account.apiKey) =>
    conformingHttp(t)
      .post(`/images/${imageId}/upload`)
      .set('x-api-key', apiKey)
      .attach('file', rootfs, 'rootfs.tar');

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
    account = await sdkSignUp(t, 'compute');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (restarted) {
      await restarted.drop();
      rmSync(restarted.dataDir, { recursive: true, force: true });
    }
    await removeLabelledContainers(TEST_LABEL, RUN);
    const volumes = await client.listVolumes({ filters: { label: [`${TEST_LABEL}=${RUN}`] } });
    for (const v of volumes.Volumes ?? [])
      await client
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
  });

  it('lists the instance types and the public busybox image', async (ctx) => {
    docker.require(ctx);
    const types = unwrap(await sdk().GET('/instance-types'));
    expect(types.map((x) => x.id)).toContain('basic-2');
    expect(types.find((x) => x.id === 'basic-2')).toMatchObject({
      vcpus: 1,
      memory_mb: 1024,
      price_per_hour: 0.02,
      category: 'general-purpose',
    });
    const images = itemsOf(unwrap(await sdk().GET('/images')));
    expect(images).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'busybox', status: 'ACTIVE', is_public: true }),
      ]),
    );
  });

  it('launch reaches RUNNING with the type limits; pause, resume, resize, stop, start, terminate act on the engine', async (ctx) => {
    docker.require(ctx);
    const res = await launch('web-01', 'basic-2', { tags: { team: 'core' } });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const accepted = unwrap(res);
    expect(['PENDING', 'STARTING', 'RUNNING']).toContain(accepted.status);
    const id = accepted.id;

    const running = await launched(id);
    expect(running.status).toBe('RUNNING');
    let info = await inspect(id);
    expect(info.State.Status).toBe('running');
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.Memory).toBe(1024 * MIB);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Config.Labels['nimbus.instance']).toBe(id);

    const current = await sdk().GET('/instances/{id}', byId(id));
    expect(current.response.status).toBe(200);
    const etag = current.response.headers.get('etag');
    expect(etag).toMatch(/^W\/"\d+"$/);

    const paused = unwrap(await sdk().POST('/instances/{id}/pause', byId(id)));
    expect(paused).toMatchObject({ message: 'instance paused', instance: { status: 'PAUSED' } });
    expect((await inspect(id)).State.Status).toBe('paused');
    refusedWith(await sdk().POST('/instances/{id}/pause', byId(id)), 409, 'invalid_state');
    unwrap(await sdk().POST('/instances/{id}/resume', byId(id)));
    expect((await inspect(id)).State.Status).toBe('running');

    const resize = (instanceId: string, type: string) =>
      sdk().POST('/instances/{id}/resize', { ...byId(instanceId), body: { instance_type: type } });
    const resized = unwrap(await resize(id, 'basic-4'));
    expect(resized).toMatchObject({
      message: 'instance resized',
      instance: { instance_type: 'basic-4' },
    });
    info = await inspect(id);
    expect([info.HostConfig.NanoCpus, info.HostConfig.Memory]).toEqual([2e9, 2048 * MIB]);
    expect(info.State.Status).toBe('running');
    expect((await resize(id, 'nope-9')).response.status).toBe(400);
    const overQuota = refusedWith(await resize(id, 'performance-1'), 403, 'quota_exceeded');
    expect(overQuota.details).toMatchObject({ resource: 'memory_mb', limit: 8192 });
    expect((await inspect(id)).HostConfig.Memory).toBe(2048 * MIB);
    refusedWith(await resize(randomUUID(), 'basic-2'), 404, 'not_found');

    const stopped = unwrap(await sdk().POST('/instances/{id}/stop', byId(id)));
    expect(stopped.instance?.status).toBe('STOPPED');
    expect((await inspect(id)).State.Status).toBe('exited');
    const started = unwrap(await sdk().POST('/instances/{id}/start', byId(id)));
    expect(started.instance?.status).toBe('RUNNING');
    expect((await inspect(id)).State.Status).toBe('running');

    unwrap(await sdk().POST('/instances/{id}/reboot', byId(id)));
    expect((await inspect(id)).State.Status).toBe('running');

    const renamed = unwrap(
      await sdk().PATCH('/instances/{id}', {
        ...byId(id),
        body: { name: 'web-02', tags: { team: 'edge' } },
      }),
    );
    expect(renamed).toMatchObject({ name: 'web-02', tags: { team: 'edge' } });

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
    expect(await auditedActions(sdk(), `instance/${id}`, audited)).toEqual(
      expect.arrayContaining(audited),
    );

    expect(await terminate(id)).toMatchObject({ status: 'TERMINATED' });
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    const list = itemsOf(unwrap(await sdk().GET('/instances')));
    expect(list.find((i) => i.id === id)?.status).toBe('TERMINATED');
  });

  it('notices a container killed behind its back (STOPPED with exit code) and one removed (ERROR)', async (ctx) => {
    docker.require(ctx);
    const a = await launchedId('drift-kill');
    const b = await launchedId('drift-remove');
    await launched(a);
    await launched(b);
    await client.getContainer(containerNameOf(a)).kill();
    const killed = await eventually(a, 'STOPPED');
    expect(killed.exit_code).toBe(137);
    await client.getContainer(containerNameOf(b)).remove({ force: true });
    const vanished = await eventually(b, 'ERROR');
    expect(vanished.error_reason).toMatch(/removed outside Nimbus/);
    await terminate(a);
    await terminate(b);
  });

  it('a launch whose container cannot be created ends ERROR with nothing left behind', async (ctx) => {
    docker.require(ctx);
    // An image whose engine image has gone: the create_container step fails permanently.
    const imageId = unwrap(await sdk().POST('/images', { body: { name: 'doomed-image' } })).id;
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
    const res = await sdk().POST('/instances', {
      body: { name: 'doomed', image: imageId, instance_type: 'basic-1' },
    });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const id = unwrap(res).id;
    const failed = await launched(id);
    expect(failed.status).toBe('ERROR');
    expect(failed.error_reason).toMatch(/no-such-image|No such image/i);
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    const logs = itemsOf(
      unwrap(await sdk().GET('/logs/{resource_id}', { params: { path: { resource_id: id } } })),
    );
    expect(logs.map((l) => l.message).join('\n')).toMatch(/launch failed at create_container/);
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
    const imageId = unwrap(await sdk().POST('/images', { body: { name: 'no-shell' } })).id;
    const uploaded = await upload(imageId, rootfs);
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);

    const res = await sdk().POST('/instances', {
      body: { name: 'cannot-start', image: imageId, instance_type: 'basic-1' },
    });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const id = unwrap(res).id;
    const failed = await launched(id);
    expect(failed.status).toBe('ERROR');
    // The engine's own error, recorded by the launch's compensation; removing the container
    // while compensating is not a container "removed outside Nimbus".
    expect(failed.error_reason).not.toMatch(/outside Nimbus/);
    expect(failed.error_reason).toMatch(/start_container|executable file not found|no such file/i);
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    await terminate(id);
  });

  it('validation: bad names and ports are 400, unknown image or type 400, another tenant 404', async (ctx) => {
    docker.require(ctx);
    for (const name of ['', 'x'.repeat(65), 'bad name', 'émoji😀']) {
      expect((await launch(name)).response.status).toBe(400);
    }
    expect((await launch('p1', 'basic-1', { ports: '80' })).response.status).toBe(400);
    expect((await launch('p2', 'basic-1', { ports: '70000:80' })).response.status).toBe(400);
    expect((await launch('p3', 'nope-1')).response.status).toBe(400);
    const tooMany = await launch('p4', 'basic-1', { ports: '1:2,'.repeat(11).slice(0, -1) });
    expect(tooMany.response.status).toBe(400);
    const unknownImage = await sdk().POST('/instances', {
      body: { name: 'x', image: 'nope', instance_type: 'basic-1' },
    });
    expect(unknownImage.response.status).toBe(400);
    // A VPC or subnet id nobody has is not found.
    const vpc = await launch('v1', 'basic-1', { vpc_id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' });
    expect(refusedWith(vpc, 404, 'not_found').details).toMatchObject({ resource: 'vpc' });
    const subnet = await launch('v2', 'basic-1', {
      subnet_id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e40',
    });
    expect(subnet.response.status).toBe(404);
    const other = await sdkSignUp(t, 'other');
    const id = await launchedId('mine', 'basic-1', { ports: '18080:80' });
    await launched(id);
    const taken = await launch('same-port', 'basic-1', { ports: '18081:81, 18080:80' });
    expect(refusedWith(taken, 409, 'conflict').details).toMatchObject({ port: 18080 });
    refusedWith(await other.sdk.GET('/instances/{id}', byId(id)), 404, 'not_found');
    refusedWith(await other.sdk.POST('/instances/{id}/stop', byId(id)), 404, 'not_found');
    await terminate(id);
  });

  it('console: a WebSocket shell in the container', async (ctx) => {
    docker.require(ctx);
    const id = await launchedId('console');
    await launched(id);
    const consoleInfo = unwrap(await sdk().GET('/instances/{id}/console', byId(id)));
    const url = consoleInfo.console_url.replace(/^ws:\/\/[^/]+/, t.baseUrl.replace('http', 'ws'));
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
    const metrics = unwrap(await sdk().GET('/instances/{id}/metrics', byId(id)));
    expect(metrics.memory_limit_bytes).toBe(512 * MIB);
    await terminate(id);
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
    const hijack = refusedWith(
      await sdk().POST('/images', { body: { name: 'busybox', is_public: true } }),
      409,
      'conflict',
    );
    expect(hijack.message).toMatch(/"busybox" is reserved: a system image has it/);
    refusedWith(
      await sdk().POST('/images/import', {
        body: { name: 'busybox', url: 'http://127.0.0.1:9/rootfs.tar' },
      }),
      409,
      'conflict',
    );
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    // Two tenants publish an image under one name; a third tenant launching by that name gets
    // 409 listing both, and launches by id instead.
    const rootfs = await busyboxRootfs();
    const name = `shared-${RUN}`;
    const publishers = [await sdkSignUp(t, 'publisher-1'), await sdkSignUp(t, 'publisher-2')];
    const ids: string[] = [];
    for (const publisher of publishers) {
      const registered = unwrap(
        await publisher.sdk.POST('/images', { body: { name, is_public: true } }),
      );
      const uploaded = await upload(registered.id, rootfs, publisher.apiKey);
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
      ids.push(registered.id);
    }
    await caughtUp();
    const caller = await sdkSignUp(t, 'image-caller');
    const launchAs = (who: SdkAccount, instanceName: string, image: string) =>
      who.sdk.POST('/instances', { body: { name: instanceName, image, instance_type: 'basic-1' } });
    const ambiguous = refusedWith(await launchAs(caller, 'by-name', name), 409, 'ambiguous_image');
    const candidates = (ambiguous.details as { candidates: string[] }).candidates;
    expect([...candidates].sort()).toEqual([...ids].sort());
    expect(ambiguous.message).toContain('launch by image id');
    // Each publisher's own image wins for the publisher; the system name boots the system image.
    const own = unwrap(await launchAs(publishers[0], 'own', name)).id;
    const viaId = unwrap(await launchAs(caller, 'by-id', ids[1])).id;
    const system = unwrap(await launchAs(caller, 'system', 'busybox')).id;
    expect((await launched(own, publishers[0].apiKey)).status).toBe('RUNNING');
    const views = [await launched(viaId, caller.apiKey), await launched(system, caller.apiKey)];
    expect(views.map((v) => v.status)).toEqual(['RUNNING', 'RUNNING']);
    const ownView = unwrap(await publishers[0].sdk.GET('/instances/{id}', byId(own)));
    expect(ownView.image_id).toBe(ids[0]);
    expect(views[0]).toMatchObject({ image_id: ids[1] });
    expect(views[1]).toMatchObject({ image_id: systemImageId('busybox') });
    await terminate(own, publishers[0].apiKey);
    await terminate(viaId, caller.apiKey);
    await terminate(system, caller.apiKey);
  });

  it('images: upload a rootfs tarball, launch from it; import by URL; delete is 409 while used', async (ctx) => {
    docker.require(ctx);
    const rootfs = await busyboxRootfs();
    const registered = unwrap(
      await sdk().POST('/images', { body: { name: 'my-rootfs', os: 'linux' } }),
    );
    expect(registered).toMatchObject({ status: 'PENDING', is_public: false });
    const imageId = registered.id;
    const uploaded = await upload(imageId, rootfs);
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
    expect(uploaded.body, JSON.stringify(uploaded.body)).toMatchObject({
      id: imageId,
      status: 'ACTIVE',
    });
    expect(uploaded.body.size_bytes).toBeGreaterThan(0);
    await client.getImage(`nimbus/img-${imageId}:latest`).inspect();

    const instanceId = unwrap(
      await sdk().POST('/instances', {
        body: { name: 'from-upload', image: imageId, instance_type: 'basic-1' },
      }),
    ).id;
    expect((await launched(instanceId)).status).toBe('RUNNING');
    refusedWith(await sdk().DELETE('/images/{id}', byId(imageId)), 409, 'dependency_violation');
    await terminate(instanceId);
    unwrap(await sdk().DELETE('/images/{id}', byId(imageId)));
    refusedWith(await sdk().GET('/images/{id}', byId(imageId)), 404, 'not_found');
    const uploadAudit = ['IMAGE_REGISTER:success', 'IMAGE_IMPORT:success', 'IMAGE_DELETE:success'];
    expect(await auditedActions(sdk(), `image/${imageId}`, uploadAudit)).toEqual(
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
    const importFrom = (importName: string, url: string) =>
      sdk().POST('/images/import', { body: { name: importName, url } });
    try {
      const port = (server.address() as { port: number }).port;
      const imported = await importFrom('from-url', `http://127.0.0.1:${port}/rootfs.tar`);
      expect(imported.response.status).toBe(202);
      expect(unwrap(imported).status).toBe('PENDING');
      const missing = await importFrom('missing', `http://127.0.0.1:${port}/nothing.tar`);
      expect(missing.response.status).toBe(202);
      const [importedId, missingId] = [unwrap(imported).id, unwrap(missing).id];
      await t.app.get(ImageImports).idle();
      await caughtUp();
      expect(unwrap(await sdk().GET('/images/{id}', byId(importedId))).status).toBe('ACTIVE');
      const failed = unwrap(await sdk().GET('/images/{id}', byId(missingId)));
      expect(failed).toMatchObject({ status: 'ERROR' });
      expect(failed.error_reason).toMatch(/404/);
      // The import by URL is audited; a failed one twice: requested, then failed.
      expect(
        await auditedActions(sdk(), `image/${importedId}`, ['IMAGE_IMPORT:success']),
      ).toContain('IMAGE_IMPORT:success');
      const failedImport = ['IMAGE_IMPORT:success', 'IMAGE_IMPORT:failure'];
      expect(await auditedActions(sdk(), `image/${missingId}`, failedImport)).toEqual(
        expect.arrayContaining(failedImport),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await importFrom('ftp', 'ftp://127.0.0.1/x.tar')).response.status).toBe(400);
  });

  it('volumes: create, mount at launch, 409 on delete while attached, detach on terminate, logs searchable', async (ctx) => {
    docker.require(ctx);
    const volume = unwrap(await sdk().POST('/volumes', { body: { name: 'data-vol', size_gb: 1 } }));
    expect(volume).toMatchObject({ status: 'AVAILABLE', size_gb: 1 });
    const volumeId = volume.id;
    const res = await launch('with-volume', 'basic-1', {
      volumes: [{ volume_id: volumeId, mount_path: '/data' }],
      user_data: 'echo marker-from-user-data; echo kept > /data/kept.txt',
    });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const id = unwrap(res).id;
    expect((await launched(id)).status).toBe('RUNNING');
    const mounts = (await inspect(id)).Mounts.map((m) => [m.Name, m.Destination]);
    expect(mounts).toEqual([[`nimbus-vol-${volumeId}`, '/data']]);
    const attached = unwrap(await sdk().GET('/volumes/{id}', byId(volumeId)));
    expect(attached).toMatchObject({ status: 'IN_USE', instance_id: id, mount_path: '/data' });
    refusedWith(await sdk().DELETE('/volumes/{id}', byId(volumeId)), 409, 'dependency_violation');

    // Console output is collected on read; platform lines come from the events.
    let found: Array<{ message: string; source: string }> = [];
    for (let i = 0; i < 50 && !found.some((l) => l.message === 'marker-from-user-data'); i++) {
      found = itemsOf(
        unwrap(
          await sdk().GET('/logs/{resource_id}', {
            params: { path: { resource_id: id }, query: { limit: 50 } },
          }),
        ),
      );
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
    const searched = itemsOf(
      unwrap(
        await sdk().GET('/logs', {
          params: { query: { search: 'marker-from-user-data', resource_type: 'instance' } },
        }),
      ),
    );
    expect(searched.map((l) => l.resource_id)).toContain(id);
    const errors = itemsOf(
      unwrap(await sdk().GET('/logs', { params: { query: { resource_id: id, level: 'ERROR' } } })),
    );
    expect(errors).toEqual([]);

    await terminate(id);
    await caughtUp();
    const detached = unwrap(await sdk().GET('/volumes/{id}', byId(volumeId)));
    expect(detached).toMatchObject({ status: 'AVAILABLE', instance_id: null });
    unwrap(await sdk().DELETE('/volumes/{id}', byId(volumeId)));
    await expect(client.getVolume(`nimbus-vol-${volumeId}`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('on restart, the first reconcile (before ready) records what happened while the API was down', async (ctx) => {
    docker.require(ctx);
    const id = await launchedId('while-down');
    expect((await launched(id)).status).toBe('RUNNING');
    const readiness = async () => {
      const res = await sdkFor(t).GET('/health/ready');
      return (res.data ?? res.error) as { checks?: Record<string, string> } | undefined;
    };
    // Ready (200, not 503) before the restart, as well as reconciled.
    expect(unwrap(await sdkFor(t).GET('/health/ready')).checks.compute).toBe('RECONCILED');

    const database = t.database;
    const dataDir = t.config.dataDir;
    // The database and the data dir (server keys) outlive this app; afterAll drops them.
    restarted = { drop: () => database.drop(), dataDir };
    await t.app.close();
    await client.getContainer(containerNameOf(id)).kill();
    t = await startTestApp({ label: 'compute_e2e', database, config: { ...appConfig, dataDir } });
    for (let i = 0; i < 100; i++) {
      if ((await readiness())?.checks?.compute === 'RECONCILED') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await caughtUp();
    const after = unwrap(await sdk().GET('/instances/{id}', byId(id)));
    expect(after).toMatchObject({ status: 'STOPPED', exit_code: 137 });
    await terminate(id);
  });

  it('releases a reservation whose instance was never recorded (a crash between reserve and launch)', async (ctx) => {
    docker.require(ctx);
    const tenant = await sdkSignUp(t, 'orphan');
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
    const tenant = await sdkSignUp(t, 'quota');
    const results = await Promise.all(
      Array.from({ length: QUOTA_INSTANCES + 1 }, (_, i) =>
        tenant.sdk.POST('/instances', {
          body: { name: `q-${i}`, image: 'busybox', instance_type: 'basic-1' },
        }),
      ),
    );
    const accepted = results.filter((r) => r.response.status === 202);
    const refused = results.filter((r) => r.response.status === 403);
    expect(accepted).toHaveLength(QUOTA_INSTANCES);
    expect(refused).toHaveLength(1);
    expect(refusedWith(refused[0], 403, 'quota_exceeded').details).toMatchObject({
      resource: 'instances',
      limit: QUOTA_INSTANCES,
      current: QUOTA_INSTANCES,
    });
    for (const r of accepted) {
      const body = await launched(unwrap(r).id, tenant.apiKey);
      expect(body.status).toBe('RUNNING');
      await terminate(body.id, tenant.apiKey);
    }
  });
});
