/**
 * A cluster's etcd on real Docker, through the generated SDK: the control plane's etcd container
 * (nimbus/etcd:3.4) holds the cluster's records (one key per node, written at provisioning and on
 * scale); a backup is `etcdctl snapshot save` (size and sha256 match the file in the container);
 * after another scale a restore brings etcd back to the backup's content (read with `etcdctl get`
 * through `docker exec`); a tampered snapshot is refused by the restore and etcd keeps its data;
 * 409 while an upgrade runs, another cluster's backup 404, bad input 4xx with no event; deleting
 * a backup removes its file, deleting the cluster leaves no container, volume or snapshot.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  etcdBackupVolume,
  etcdContainerName,
  etcdDataVolume,
  snapshotPath,
} from '../../src/clusters/drivers/etcd-control-plane';
import { CLUSTER_DRIVER, type ClusterDriver } from '../../src/clusters/ports/kubernetes';
import { uuidV5 } from '../../src/common/ids';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { vpcDecider } from '../../src/network/domain';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { itemsOf, sdkFor, unwrap, type NimbusClient } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';
import { refusal } from './sdk.helpers';

const run = promisify(execFile);
const docker = realDocker();

async function etcdctl(clusterId: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', [
    'exec',
    etcdContainerName(clusterId),
    'etcdctl',
    ...args,
  ]);
  return stdout.trim();
}

/** The node records in the cluster's etcd, by name. */
async function nodeKeys(clusterId: string): Promise<string[]> {
  const out = await etcdctl(clusterId, 'get', '--prefix', '--keys-only', '/nimbus/cluster/nodes/');
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.replace('/nimbus/cluster/nodes/', ''))
    .sort();
}

async function exists(kind: 'container' | 'volume', name: string): Promise<boolean> {
  try {
    if (kind === 'container') await dockerClient().getContainer(name).inspect();
    else await dockerClient().getVolume(name).inspect();
    return true;
  } catch {
    return false;
  }
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cluster etcd backup and restore (e2e, real Docker)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let sdk: NimbusClient;
  let bobSdk: NimbusClient;
  const clusters: string[] = [];

  async function vpcOf(account: Account): Promise<string> {
    const id = randomUUID();
    await t.app.get(CommandExecutor).execute(
      vpcDecider,
      id,
      {
        type: 'CreateVpc',
        vpcId: id,
        tenantId: account.tenantId,
        name: 'etcd',
        cidrBlock: '10.41.0.0/16',
        mainRouteTableId: uuidV5(`main/${id}`),
        defaultSecurityGroupId: uuidV5(`sg/${id}`),
        now: new Date(),
      },
      {
        commandId: randomUUID(),
        tenantId: account.tenantId,
        actor: { type: 'user', id: account.userId },
        requestId: null,
        sourceIp: null,
        correlationId: randomUUID(),
        causationId: null,
        now: new Date(),
      },
    );
    return id;
  }

  const path = (id: string) => ({ params: { path: { id } } });
  const cluster = async (id: string) => unwrap(await sdk.GET('/clusters/{id}', path(id)));
  const backup = async (id: string, backupId: string) =>
    unwrap(
      await sdk.GET('/clusters/{id}/backups/{backupId}', {
        params: { path: { id, backupId } },
      }),
    );

  async function createCluster(sdkOf: NimbusClient, vpcId: string, name: string, workers: number) {
    const created = unwrap(
      await sdkOf.POST('/clusters', {
        body: { name, vpc_id: vpcId, version: 'v1.29.0', workers, ha: false },
      }),
    );
    clusters.push(created.id);
    const running = await until(
      async () => unwrap(await sdkOf.GET('/clusters/{id}', path(created.id))),
      (c) => c.status === 'running' || c.status === 'failed',
    );
    expect(running.status, running.failure_message ?? '').toBe('running');
    return created.id;
  }

  async function scale(id: string, workers: number): Promise<void> {
    unwrap(await sdk.POST('/clusters/{id}/scale', { ...path(id), body: { workers } }));
    const c = await until(
      () => cluster(id),
      (x) => x.status === 'running' && x.workers === workers,
    );
    expect(c).toMatchObject({ status: 'running', workers });
  }

  async function takeBackup(id: string) {
    const accepted = await sdk.POST('/clusters/{id}/backups', path(id));
    expect(accepted.response.status).toBe(202);
    const backupId = (accepted.data as { id: string }).id;
    const done = await until(
      () => backup(id, backupId),
      (b) => b.status !== 'creating',
    );
    expect(done.status, done.failure_message ?? '').toBe('available');
    return done;
  }

  async function restore(id: string, backupId: string) {
    const started = Date.now();
    const accepted = await sdk.POST('/clusters/{id}/restore', {
      ...path(id),
      body: { backup_id: backupId },
    });
    expect(accepted.response.status).toBe(202);
    const restoreId = (accepted.data as { restore?: { id: string } | null }).restore?.id;
    const after = await until(
      () => cluster(id),
      (c) => c.status === 'running' && c.last_restore !== null && c.last_restore.id === restoreId,
    );
    return { cluster: after, ms: Date.now() - started };
  }

  beforeAll(async () => {
    await docker.probe();
    t = await startTestApp({
      label: 'clusters_etcd',
      config: { ovn: 'simulated', authRateLimitPerMinute: 200 },
    });
    alice = await signUp(t, 'etcd-alice');
    bob = await signUp(t, 'etcd-bob');
    sdk = sdkFor(t, { apiKey: alice.apiKey });
    bobSdk = sdkFor(t, { apiKey: bob.apiKey });
  }, 300_000);

  afterAll(async () => {
    for (const id of clusters) {
      await dockerClient()
        .getContainer(etcdContainerName(id))
        .remove({ force: true })
        .catch(() => undefined);
      for (const volume of [etcdDataVolume(id), etcdBackupVolume(id)]) {
        await dockerClient()
          .getVolume(volume)
          .remove()
          .catch(() => undefined);
      }
    }
    await t?.close();
  });

  it('backs up etcd, restores it after a change, refuses what it must, and deletes without leftovers', async (ctx) => {
    docker.require(ctx);
    const vpcId = await vpcOf(alice);
    const id = await createCluster(sdk, vpcId, 'etcd-one', 1);

    // etcd is real and healthy; the cluster's nodes are recorded in it.
    const health = unwrap(await sdk.GET('/clusters/{id}/health', path(id)));
    expect(health.etcd).toMatchObject({ healthy: true, data_dir: 'data-0', error: null });
    expect(health.etcd?.version).toMatch(/^3\.4\./);
    expect(health.healthy).toBe(true);
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0']);

    await scale(id, 2);
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0', 'worker-1']);

    const b1 = await takeBackup(id);
    const [sum] = (
      await run('docker', ['exec', etcdContainerName(id), 'sha256sum', snapshotPath(b1.id)])
    ).stdout.split(/\s+/);
    expect(b1.sha256).toBe(sum);
    expect(b1.size_bytes).toBeGreaterThan(0);
    expect(b1.revision).toBeGreaterThan(0);
    const list = unwrap(await sdk.GET('/clusters/{id}/backups', path(id)));
    expect((Array.isArray(list) ? list : list.items).map((b) => b.id)).toEqual([b1.id]);

    await scale(id, 3);
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0', 'worker-1', 'worker-2']);

    // Refusals: a stable code, and no event appended.
    const other = await createCluster(sdk, vpcId, 'etcd-two', 0);
    const before = await countEvents(t);
    const badBody = await refusal(
      sdk.POST('/clusters/{id}/restore', { ...path(id), body: { backup_id: 'not-a-uuid' } }),
    );
    expect(badBody).toMatchObject({ status: 400, code: 'validation_error' });
    const unknown = await refusal(
      sdk.POST('/clusters/{id}/restore', { ...path(id), body: { backup_id: randomUUID() } }),
    );
    expect(unknown).toMatchObject({ status: 404, code: 'not_found' });
    // another cluster's backup (the caller's own other cluster): 404
    const crossCluster = await refusal(
      sdk.POST('/clusters/{id}/restore', { ...path(other), body: { backup_id: b1.id } }),
    );
    expect(crossCluster).toMatchObject({ status: 404, code: 'not_found' });
    // another tenant: the cluster, its backups and the backup are 404
    expect((await refusal(bobSdk.POST('/clusters/{id}/backups', path(id)))).status).toBe(404);
    expect((await refusal(bobSdk.GET('/clusters/{id}/backups', path(id)))).status).toBe(404);
    expect(
      (
        await refusal(
          bobSdk.GET('/clusters/{id}/backups/{backupId}', {
            params: { path: { id, backupId: b1.id } },
          }),
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await refusal(
          bobSdk.POST('/clusters/{id}/restore', { ...path(id), body: { backup_id: b1.id } }),
        )
      ).status,
    ).toBe(404);
    expect(await countEvents(t)).toBe(before);

    // 409 while an upgrade runs: its control-plane step waits for the test.
    const driver = t.app.get<ClusterDriver>(CLUSTER_DRIVER);
    const upgradeControlPlane = driver.upgradeControlPlane.bind(driver);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    driver.upgradeControlPlane = async (clusterId, version) => {
      await held;
      return upgradeControlPlane(clusterId, version);
    };
    try {
      unwrap(
        await sdk.POST('/clusters/{id}/upgrade', { ...path(id), body: { version: 'v1.30.0' } }),
      );
      const busy = await refusal(
        sdk.POST('/clusters/{id}/restore', { ...path(id), body: { backup_id: b1.id } }),
      );
      expect(busy).toMatchObject({ status: 409, code: 'invalid_state' });
    } finally {
      release();
      driver.upgradeControlPlane = upgradeControlPlane;
    }
    await until(
      () => cluster(id),
      (c) => c.status === 'running' && c.version === 'v1.30.0',
    );

    // The restore: etcd holds the backup's content again (two workers, not three).
    const restored = await restore(id, b1.id);
    expect(restored.cluster.last_restore).toMatchObject({ backup_id: b1.id, error: null });
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0', 'worker-1']);
    const spec = JSON.parse(await etcdctl(id, 'get', '--print-value-only', '/nimbus/cluster/spec'));
    expect(spec).toMatchObject({ workers: 2 });
    const afterHealth = unwrap(await sdk.GET('/clusters/{id}/health', path(id)));
    expect(afterHealth.etcd).toMatchObject({
      healthy: true,
      revision: b1.revision,
      data_dir: `restore-${restored.cluster.last_restore?.id}`,
    });
    console.log(
      `etcd backup: ${b1.size_bytes} bytes, revision ${b1.revision}, taken in ${b1.duration_ms} ms; restore (request to running) ${restored.ms} ms`,
    );

    // A tampered snapshot: the restore refuses it, etcd keeps its data, the failure is recorded.
    await scale(id, 1);
    const b2 = await takeBackup(id);
    await run('docker', [
      'exec',
      etcdContainerName(id),
      'truncate',
      '-s',
      '4096',
      snapshotPath(b2.id),
    ]);
    const refused = await restore(id, b2.id);
    expect(refused.cluster.last_restore?.error).toMatch(/sha256/);
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0']);
    const stillHealth = unwrap(await sdk.GET('/clusters/{id}/health', path(id)));
    expect(stillHealth.etcd).toMatchObject({ healthy: true, data_dir: afterHealth.etcd?.data_dir });

    // A restore whose check fails after etcd was switched to the restored data: etcd is switched
    // back to its previous data directory, the fresh one is removed, the failure is recorded.
    const etcd = driver.etcd;
    if (!etcd) throw new Error('the local cluster driver has an etcd');
    const verify = etcd.verify.bind(etcd);
    etcd.verify = () => Promise.reject(new Error('content check failed (test)'));
    let undone: Awaited<ReturnType<typeof restore>>;
    try {
      undone = await restore(id, b1.id);
    } finally {
      etcd.verify = verify;
    }
    expect(undone.cluster.last_restore?.error).toMatch(/content check failed \(test\)/);
    expect(await nodeKeys(id)).toEqual(['control-plane-0', 'worker-0']);
    const backHealth = unwrap(await sdk.GET('/clusters/{id}/health', path(id)));
    expect(backHealth.etcd).toMatchObject({ healthy: true, data_dir: afterHealth.etcd?.data_dir });
    await expect(
      run('docker', [
        'exec',
        etcdContainerName(id),
        'test',
        '-e',
        `/var/lib/nimbus/restore-${undone.cluster.last_restore?.id}`,
      ]),
    ).rejects.toThrow();

    // Deleting a backup removes its file.
    const del = await sdk.DELETE('/clusters/{id}/backups/{backupId}', {
      params: { path: { id, backupId: b2.id } },
    });
    expect(del.response.status).toBe(202);
    await until(
      () =>
        sdk.GET('/clusters/{id}/backups/{backupId}', {
          params: { path: { id, backupId: b2.id } },
        }),
      (r) => r.response.status === 404,
    );
    await expect(
      run('docker', ['exec', etcdContainerName(id), 'test', '-e', snapshotPath(b2.id)]),
    ).rejects.toThrow();
    await expect(
      run('docker', ['exec', etcdContainerName(id), 'test', '-e', snapshotPath(b1.id)]),
    ).resolves.toBeDefined();

    // Each request is in the audit log (the timeline is derived from the same catalog).
    const wanted = [
      'CLUSTER_BACKUP_CREATE',
      'CLUSTER_BACKUP_DELETE',
      'CLUSTER_RESTORE',
      'CLUSTER_RESTORE_FINISH',
    ];
    let actions = new Set<string>();
    for (let i = 0; i < 200 && !wanted.every((a) => actions.has(a)); i++) {
      const rows = await Promise.all(
        wanted.map(async (action) =>
          itemsOf(unwrap(await sdk.GET('/audit', { params: { query: { action } } }))),
        ),
      );
      actions = new Set(rows.flat().map((r) => r.action));
      if (!wanted.every((a) => actions.has(a))) await new Promise((r) => setTimeout(r, 50));
    }
    expect([...actions].sort()).toEqual(wanted);

    // Deleting the cluster leaves no container, volume or snapshot.
    for (const c of [id, other]) {
      expect((await sdk.DELETE('/clusters/{id}', path(c))).response.status).toBe(202);
      await until(
        () => sdk.GET('/clusters/{id}', path(c)),
        (r) => r.response.status === 404,
      );
      expect(await exists('container', etcdContainerName(c))).toBe(false);
      expect(await exists('volume', etcdDataVolume(c))).toBe(false);
      expect(await exists('volume', etcdBackupVolume(c))).toBe(false);
    }
  }, 300_000);
});
