/**
 * Kubernetes clusters over HTTP, through the generated SDK: create (400 with the field for an
 * unsupported version, another tenant's VPC 404, nothing appended), pending -> running, the
 * kubeconfig behind `clusters:kubeconfig` (a viewer is 403), health, scale, repair, the upgrade
 * rules (409 unless running, 400 skipping a minor) and a whole upgrade to its end, delete.
 * The cluster driver is the local one (simulated nodes, a real etcd container per cluster: README,
 * what runs where; test/e2e/clusters-etcd.e2e.spec.ts covers etcd); the upgrade against the
 * Kubernetes API itself is tested in test/int/clusters/ against the API fixture.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { uuidV5 } from '../../src/common/ids';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { vpcDecider } from '../../src/network/domain';
import { createNimbusClient, itemsOf, unwrap, type NimbusClient } from '../../src/sdk/client';
import { CLUSTER_DRIVER, type ClusterDriver } from '../../src/clusters/ports/kubernetes';
import { removeLabelledContainers, removeLabelledVolumes } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, countEvents, signUp, type Account } from './identity.helpers';
import { refusal } from './sdk.helpers';

describe('Kubernetes clusters (e2e, local cluster driver)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let sdk: NimbusClient;
  let bobSdk: NimbusClient;
  let vpcId: string;

  async function vpcOf(account: Account): Promise<string> {
    const id = randomUUID();
    await t.app.get(CommandExecutor).execute(
      vpcDecider,
      id,
      {
        type: 'CreateVpc',
        vpcId: id,
        tenantId: account.tenantId,
        name: 'k8s',
        cidrBlock: '10.40.0.0/16',
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

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const getCluster = (id: string) =>
    sdk.GET('/clusters/{id}', { params: { path: { id } } }).then((r) => r);

  beforeAll(async () => {
    t = await startTestApp({
      label: 'clusters',
      config: { ovn: 'simulated', authRateLimitPerMinute: 200 },
    });
    alice = await signUp(t, 'k8s-alice');
    bob = await signUp(t, 'k8s-bob');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
    vpcId = await vpcOf(alice);
  });

  afterAll(async () => {
    // A cluster left running keeps its etcd container and volumes (the local driver's).
    for (const account of [alice, bob]) {
      if (!account) continue;
      await removeLabelledContainers('nimbus.tenant', account.tenantId);
      await removeLabelledVolumes('nimbus.tenant', account.tenantId);
    }
    await t?.close();
  });

  it('refuses bad creates with a stable code and appends nothing', async () => {
    const before = await countEvents(t, ['AccessDenied']);
    const unsupported = await refusal(
      sdk.POST('/clusters', {
        body: { name: 'c1', vpc_id: vpcId, version: 'v1.20.0' as 'v1.29.0', workers: 1, ha: false },
      }),
    );
    expect(unsupported).toMatchObject({ status: 400, code: 'validation_error' });
    expect(JSON.stringify(unsupported.details)).toContain('version');
    const badName = await refusal(
      sdk.POST('/clusters', {
        body: { name: 'Not A Name', vpc_id: vpcId, version: 'v1.29.0', workers: 1, ha: false },
      }),
    );
    expect(badName).toMatchObject({ status: 400, code: 'validation_error' });
    // another tenant's VPC, and a VPC that does not exist: 404
    const bobs = await refusal(
      bobSdk.POST('/clusters', {
        body: { name: 'c1', vpc_id: vpcId, version: 'v1.29.0', workers: 1, ha: false },
      }),
    );
    expect(bobs).toMatchObject({ status: 404, code: 'not_found' });
    const none = await refusal(
      sdk.POST('/clusters', {
        body: { name: 'c1', vpc_id: randomUUID(), version: 'v1.29.0', workers: 1, ha: false },
      }),
    );
    expect(none.status).toBe(404);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('lists the supported versions', async () => {
    const versions = unwrap(await sdk.GET('/cluster-versions'));
    expect(versions.versions).toContain('v1.29.0');
    expect(versions.versions).toContain('v1.30.0');
  });

  it('creates a cluster pending -> running; another tenant sees nothing of it', async () => {
    const created = await sdk.POST('/clusters', {
      body: { name: 'prod', vpc_id: vpcId, version: 'v1.29.0', workers: 2, ha: true },
    });
    expect(created.response.status).toBe(202);
    const id = (created.data as { id: string }).id;
    expect(created.response.headers.get('location')).toBe(`/clusters/${id}`);
    const running = await until(
      () => getCluster(id),
      (r) => r.data?.status === 'running',
    );
    expect(running.data).toMatchObject({
      status: 'running',
      version: 'v1.29.0',
      workers: 2,
      ha: true,
      control_plane_nodes: 3,
    });
    expect(running.data?.nodes).toHaveLength(5);
    expect(running.data?.endpoint).toMatch(/^https:\/\//);

    expect(itemsOf(unwrap(await sdk.GET('/clusters'))).map((c) => c.id)).toContain(id);
    expect(itemsOf(unwrap(await bobSdk.GET('/clusters')))).toEqual([]);
    const path = { params: { path: { id } } };
    expect((await refusal(bobSdk.GET('/clusters/{id}', path))).status).toBe(404);
    expect((await refusal(bobSdk.GET('/clusters/{id}/kubeconfig', path))).status).toBe(404);
    expect((await refusal(bobSdk.DELETE('/clusters/{id}', path))).status).toBe(404);
    expect(
      (
        await refusal(
          bobSdk.POST('/clusters/{id}/upgrade', { ...path, body: { version: 'v1.30.0' } }),
        )
      ).status,
    ).toBe(404);

    // kubeconfig: the owner has clusters:kubeconfig, a viewer of the tenant does not
    const kubeconfig = await sdk.GET('/clusters/{id}/kubeconfig', path);
    expect(kubeconfig.data?.kubeconfig).toContain('kind: Config');
    expect(kubeconfig.response.headers.get('cache-control')).toBe('no-store');
    const added = await t
      .http()
      .post(`/tenants/${alice.tenantId}/members`)
      .set(bearer(alice.accessToken))
      .send({ user_id: bob.userId, role: 'viewer' });
    expect(added.status).toBe(201);
    const viewer = createNimbusClient({
      endpoint: t.baseUrl,
      token: bob.accessToken,
      tenantId: alice.tenantId,
    });
    expect(unwrap(await viewer.GET('/clusters/{id}', path)).id).toBe(id);
    const denied = await refusal(viewer.GET('/clusters/{id}/kubeconfig', path));
    expect(denied).toMatchObject({ status: 403, code: 'forbidden' });

    const health = unwrap(await sdk.GET('/clusters/{id}/health', path));
    expect(health).toMatchObject({ healthy: true, nodes_ready: 5, nodes_total: 5 });
    expect(health.api_server).toMatchObject({ reachable: true, version: 'v1.29.0' });
  });

  it('bills a cluster in cluster-hours from running until its delete, at the catalog price, and its workers in node-hours', async () => {
    const prices = unwrap(await sdk.GET('/billing/prices'));
    expect(JSON.stringify(prices)).toContain('clusters:control-plane');
    expect(JSON.stringify(prices)).toContain('clusters:node');
    const created = await sdk.POST('/clusters', {
      body: { name: 'metered', vpc_id: vpcId, version: 'v1.29.0', workers: 3, ha: false },
    });
    const id = (created.data as { id: string }).id;
    const path = { params: { path: { id } } };
    await until(
      () => getCluster(id),
      (r) => r.data?.status === 'running',
    );
    // Usage is billed per second: each size lasts at least a whole second.
    await new Promise((r) => setTimeout(r, 1100));
    const scaled = await sdk.POST('/clusters/{id}/scale', { ...path, body: { workers: 5 } });
    expect(scaled.response.status).toBe(202);
    await until(
      () => getCluster(id),
      (r) => r.data?.status === 'running' && r.data.workers === 5,
    );
    await new Promise((r) => setTimeout(r, 1100));
    unwrap(await sdk.DELETE('/clusters/{id}', path));
    const usage = await until(
      async () => itemsOf(unwrap(await sdk.GET('/billing/usage'))),
      (rows) => rows.some((row) => row.resource_id === id),
    );
    const row = usage.find((r) => r.resource_id === id);
    expect(row).toMatchObject({
      resource_type: 'compute',
      unit: 'cluster-hour',
      description: 'Kubernetes cluster metered',
      quantity: 1,
      unit_price: 0.1,
    });

    // The workers' usage has its own id (uuid v5 of <cluster id>/nodes): 3, then 5 from the
    // moment the scale was recorded as done; the control-plane node is not counted.
    const nodesId = uuidV5(`${id}/nodes`);
    const nodeRows = await until(
      async () =>
        itemsOf(
          unwrap(await sdk.GET('/billing/usage', { params: { query: { resource_id: nodesId } } })),
        ),
      (rows) => rows.length >= 2,
    );
    expect(nodeRows).toHaveLength(2);
    expect(nodeRows.map((r) => r.quantity)).toEqual([3, 5]);
    for (const r of nodeRows) {
      expect(r).toMatchObject({
        resource_id: nodesId,
        resource_type: 'compute',
        unit: 'node-hour',
        description: 'Worker nodes of Kubernetes cluster metered',
        unit_price: 0.04,
      });
      expect(Date.parse(r.end)).toBeGreaterThan(Date.parse(r.start));
    }
    expect(nodeRows[0].end).toBe(nodeRows[1].start);
    expect(nodeRows[0].start).toBe(row?.start);
    expect(nodeRows[1].end).toBe(row?.end);
  });

  it('scales, repairs, upgrades one minor at a time only from running, and deletes', async () => {
    const created = unwrap(
      await sdk.POST('/clusters', {
        body: { name: 'stage', vpc_id: vpcId, version: 'v1.29.0', workers: 1, ha: false },
      }),
    );
    const path = { params: { path: { id: created.id } } };
    await until(
      () => getCluster(created.id),
      (r) => r.data?.status === 'running',
    );

    // nothing to cancel, a minor skipped, a downgrade: refused, nothing appended
    const before = await countEvents(t, ['AccessDenied']);
    expect(await refusal(sdk.POST('/clusters/{id}/upgrade/cancel', path))).toMatchObject({
      status: 409,
      code: 'invalid_state',
    });
    const skip = await refusal(
      sdk.POST('/clusters/{id}/upgrade', { ...path, body: { version: 'v1.31.0' } }),
    );
    expect(skip).toMatchObject({ status: 400, code: 'validation_error' });
    expect(skip.message).toMatch(/one minor version at a time/);
    expect(
      (
        await refusal(
          sdk.POST('/clusters/{id}/upgrade', { ...path, body: { version: 'v1.28.15' } }),
        )
      ).status,
    ).toBe(400);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    const scaled = await sdk.POST('/clusters/{id}/scale', { ...path, body: { workers: 3 } });
    expect(scaled.response.status).toBe(202);
    const afterScale = await until(
      () => getCluster(created.id),
      (r) => r.data?.status === 'running' && r.data.workers === 3,
    );
    expect(afterScale.data?.nodes.filter((n) => n.role === 'worker')).toHaveLength(3);

    const repaired = await sdk.POST('/clusters/{id}/repair', path);
    expect(repaired.response.status).toBe(202);
    await until(
      () => getCluster(created.id),
      (r) => r.data?.status === 'running',
    );

    // The control plane's upgrade waits for the test, so the rollout is surely under way while
    // a second upgrade and a delete are tried (the simulated one is over in milliseconds).
    const driver = t.app.get<ClusterDriver>(CLUSTER_DRIVER);
    const upgradeControlPlane = driver.upgradeControlPlane.bind(driver);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    driver.upgradeControlPlane = async (clusterId, version) => {
      await held;
      return upgradeControlPlane(clusterId, version);
    };
    const upgrade = await sdk.POST('/clusters/{id}/upgrade', {
      ...path,
      body: { version: 'v1.30.0', max_unavailable: 2 },
    });
    expect(upgrade.response.status).toBe(202);
    expect(upgrade.data).toMatchObject({ to_version: 'v1.30.0', max_unavailable: 2 });
    try {
      const again = await refusal(
        sdk.POST('/clusters/{id}/upgrade', { ...path, body: { version: 'v1.30.0' } }),
      );
      expect(again.status).toBe(409);
      expect((await refusal(sdk.DELETE('/clusters/{id}', path))).status).toBe(409);
    } finally {
      release();
      driver.upgradeControlPlane = upgradeControlPlane;
    }

    const progress = await until(
      async () => unwrap(await sdk.GET('/clusters/{id}/upgrade', path)),
      (u) => u.status === 'finished',
    );
    expect(progress.outcome).toBe('succeeded');
    expect(progress.control_plane.stage).toBe('upgraded');
    expect(progress.nodes.map((n) => [n.stage, n.cordoned, n.kubelet_version])).toEqual([
      ['done', false, 'v1.30.0'],
      ['done', false, 'v1.30.0'],
      ['done', false, 'v1.30.0'],
    ]);
    const upgraded = await until(
      () => getCluster(created.id),
      (r) => r.data?.status === 'running' && r.data.version === 'v1.30.0',
    );
    expect(upgraded.data).toMatchObject({ last_upgrade_outcome: 'succeeded', version: 'v1.30.0' });
    expect(new Set(upgraded.data?.nodes.map((n) => n.version))).toEqual(new Set(['v1.30.0']));

    // The cluster's VPC cannot be deleted from under it.
    const vpcDelete = await refusal(sdk.DELETE('/vpcs/{id}', { params: { path: { id: vpcId } } }));
    expect(vpcDelete.status).toBe(409);
    expect(vpcDelete.code).toBe('dependency_violation');
    expect(vpcDelete.details).toMatchObject({
      dependents: { clusters: expect.arrayContaining([created.id]) },
    });

    const deleted = await sdk.DELETE('/clusters/{id}', path);
    expect(deleted.response.status).toBe(202);
    // The teardown may be over before the answer is read: then it shows `deleted`.
    expect(['deleting', 'deleted', undefined]).toContain(
      (deleted.data as { status?: string }).status,
    );
    const gone = await until(
      () => getCluster(created.id),
      (r) => r.response.status === 404,
    );
    expect(gone.response.status).toBe(404);
  });
});
