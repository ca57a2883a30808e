/**
 * The cluster-upgrade saga on real PostgreSQL and the saga runtime, driving the Kubernetes API
 * through the real client (`KubeClientApi`, @kubernetes/client-node) against the Kubernetes-API
 * fixture (test/support/k8s-api-fixture.ts): an HTTP server with real eviction semantics (a
 * PodDisruptionBudget answers 429), kubelet versions and Ready conditions. No Kubernetes runs
 * here; see src/clusters/README.md.
 */
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  CLUSTER_UPGRADE_SAGA,
  clusterUpgradeSaga,
  type ClusterUpgradeInput,
} from '../../../sagas/cluster-upgrade/cluster-upgrade.saga';
import { SagaRuntime } from '../../../sagas/runtime/saga-runtime';
import { clusterDecider, upgradeDecider, type UpgradeOptions } from '../../../src/clusters/domain';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { KubernetesApiFixture } from '../../support/k8s-api-fixture';
import { FixtureClusterDriver } from '../../support/k8s-fixture-driver';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { nodeRecords, upgradingCluster } from './fixtures/upgrade-scene';

describe('cluster upgrade saga against the Kubernetes-API fixture', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  const fixtures: KubernetesApiFixture[] = [];
  const runtimes: SagaRuntime[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('cluster_upgrade');
    pool = new Pool({ connectionString: db.url, max: 5 });
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    executor = new CommandExecutor(store);
  });

  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop();
    for (const f of fixtures.splice(0)) await f.stop();
  });

  afterAll(async () => {
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  async function cluster(workers: number) {
    const fixture = await new KubernetesApiFixture({ version: 'v1.29.0', workers }).start();
    fixtures.push(fixture);
    return { fixture, driver: new FixtureClusterDriver(fixture.url, fixture.kubeconfig()) };
  }

  async function upgrade(
    driver: FixtureClusterDriver,
    workers: number,
    options: Partial<UpgradeOptions>,
  ) {
    const scene = await upgradingCluster(executor, nodeRecords(workers), options);
    const runtime = new SagaRuntime({
      store,
      pool,
      sagas: [clusterUpgradeSaga({ executor, driver, pollMs: 100 })],
      subscribe: false,
      timerPollMs: 100,
    });
    runtimes.push(runtime);
    await runtime.start();
    const input: ClusterUpgradeInput = { ...scene };
    await runtime.startSaga(CLUSTER_UPGRADE_SAGA, scene.upgradeId, input, {
      tenantId: scene.tenantId,
    });
    const saga = await runtime.whenSettled(CLUSTER_UPGRADE_SAGA, scene.upgradeId, 60_000);
    const rollout = (await executor.load(upgradeDecider, scene.upgradeId)).state;
    const after = (await executor.load(clusterDecider, scene.clusterId)).state;
    const events = (await store.readStream(`cluster-upgrade-${scene.upgradeId}`)).map((e) => ({
      type: e.type,
      data: e.data as { node?: string; at?: string },
    }));
    return { saga, rollout, cluster: after, events };
  }

  const schedulable = (fixture: KubernetesApiFixture) =>
    [...fixture.nodes.values()].every((n) => !n.unschedulable);

  it('upgrades the control plane, then every worker: pods evicted through the API, budgets respected, nodes back schedulable', async () => {
    const { fixture, driver } = await cluster(3);
    // three replicas behind a budget that keeps two: evictions go one at a time
    for (let i = 0; i < 3; i++) {
      fixture.addPod({
        namespace: 'shop',
        node: `worker-${i}`,
        labels: { app: 'web' },
        owner: 'ReplicaSet',
      });
    }
    fixture.addBudget({ namespace: 'shop', matchLabels: { app: 'web' }, minAvailable: 2 });
    fixture.addPod({
      namespace: 'kube-system',
      node: 'worker-0',
      labels: { app: 'proxy' },
      owner: 'DaemonSet',
    });

    const { saga, rollout, cluster: after } = await upgrade(driver, 3, { maxUnavailable: 1 });
    expect(saga.status).toBe('completed');
    expect(rollout.outcome).toBe('succeeded');
    expect(fixture.serverVersion).toBe('v1.30.0');
    expect([...fixture.nodes.values()].map((n) => n.kubeletVersion)).toEqual(
      Array(4).fill('v1.30.0'),
    );
    expect(schedulable(fixture)).toBe(true);
    // each worker cordoned exactly once; the DaemonSet pod was left where it was
    expect(
      [...fixture.nodes.values()].filter((n) => n.role === 'worker').map((n) => n.cordons),
    ).toEqual([1, 1, 1]);
    expect(fixture.podsOn('worker-0').some((p) => p.owner === 'DaemonSet')).toBe(true);
    expect(fixture.evictions.filter((e) => e.status === 201).length).toBeGreaterThanOrEqual(3);
    expect(after).toMatchObject({
      status: 'running',
      version: 'v1.30.0',
      lastUpgradeOutcome: 'succeeded',
    });
    expect(after.nodes.every((n) => n.version === 'v1.30.0')).toBe(true);
  });

  it('a PodDisruptionBudget blocks a drain until drain_timeout_seconds: the node fails, is uncordoned, the rollout stops', async () => {
    const { fixture, driver } = await cluster(2);
    fixture.addPod({
      namespace: 'db',
      name: 'primary-0',
      node: 'worker-0',
      labels: { app: 'db' },
      owner: 'ReplicaSet',
    });
    fixture.addBudget({ namespace: 'db', matchLabels: { app: 'db' }, minAvailable: 1 });

    const {
      rollout,
      cluster: after,
      events,
    } = await upgrade(driver, 2, {
      drainTimeoutSeconds: 1,
      maxFailedNodes: 0,
    });
    expect(rollout.outcome).toBe('failed');
    expect(rollout.nodes['worker-0']).toMatchObject({ stage: 'failed', cordoned: false });
    expect(rollout.nodes['worker-0'].failure?.reason).toBe('drain_timeout');
    expect(rollout.nodes['worker-0'].failure?.message).toMatch(
      /PodDisruptionBudget: db\/primary-0/,
    );
    // the budget was asked, and refused, more than once before the deadline
    expect(fixture.evictions.filter((e) => e.status === 429).length).toBeGreaterThan(1);
    expect(fixture.evictions.some((e) => e.status === 201)).toBe(false);
    const drainStarted = events.find((e) => e.type === 'NodeDrainStarted')?.data.at ?? '';
    const failedAt = events.find((e) => e.type === 'NodeFailed')?.data.at ?? '';
    expect(Date.parse(failedAt) - Date.parse(drainStarted)).toBeGreaterThanOrEqual(1000);
    // never upgraded; the next worker never touched; nothing left cordoned
    expect(fixture.nodes.get('worker-0')?.kubeletVersion).toBe('v1.29.0');
    expect(fixture.nodes.get('worker-1')).toMatchObject({ kubeletVersion: 'v1.29.0', cordons: 0 });
    expect(schedulable(fixture)).toBe(true);
    expect(after.status).toBe('upgrade_failed');
    expect(after.failureMessage).toMatch(/worker-0 \(drain_timeout\)/);
  });

  it('with force, the blocked pod is deleted at the timeout and the node is upgraded', async () => {
    const { fixture, driver } = await cluster(1);
    fixture.addPod({
      namespace: 'db',
      name: 'primary-0',
      node: 'worker-0',
      labels: { app: 'db' },
      owner: null,
    });
    fixture.addBudget({ namespace: 'db', matchLabels: { app: 'db' }, minAvailable: 1 });
    const { rollout } = await upgrade(driver, 1, { drainTimeoutSeconds: 1, force: true });
    expect(rollout.outcome).toBe('succeeded');
    expect(rollout.nodes['worker-0'].forced).toBe(true);
    expect(fixture.podsOn('worker-0')).toEqual([]);
    expect(schedulable(fixture)).toBe(true);
  });

  it('a node that stays NotReady after its kubelet is replaced fails the health gate and stops the rollout at max_failed_nodes', async () => {
    const { fixture, driver } = await cluster(4);
    fixture.stayNotReady('worker-1');
    const { rollout, cluster: after } = await upgrade(driver, 4, {
      healthTimeoutSeconds: 1,
      maxFailedNodes: 0,
    });
    expect(rollout.outcome).toBe('failed');
    expect(rollout.nodes['worker-0'].stage).toBe('done');
    expect(rollout.nodes['worker-1']).toMatchObject({ stage: 'failed', cordoned: false });
    expect(rollout.nodes['worker-1'].failure?.reason).toBe('health_gate');
    // stopped at the threshold: the remaining workers were never cordoned nor upgraded
    for (const name of ['worker-2', 'worker-3']) {
      expect(rollout.nodes[name].stage).toBe('pending');
      expect(fixture.nodes.get(name)).toMatchObject({ kubeletVersion: 'v1.29.0', cordons: 0 });
    }
    expect(schedulable(fixture)).toBe(true);
    expect(after.status).toBe('upgrade_failed');
  });

  it('within max_failed_nodes the rollout goes past a NotReady node', async () => {
    const { fixture, driver } = await cluster(3);
    fixture.stayNotReady('worker-0');
    const { rollout } = await upgrade(driver, 3, {
      healthTimeoutSeconds: 1,
      maxFailedNodes: 1,
      maxUnavailable: 2,
    });
    expect(rollout.outcome).toBe('succeeded');
    expect(rollout.nodes['worker-0'].stage).toBe('failed');
    expect(rollout.nodes['worker-2'].stage).toBe('done');
    expect(schedulable(fixture)).toBe(true);
  });

  it('a control plane that fails its upgrade is rolled back and no worker is touched', async () => {
    const { fixture, driver } = await cluster(2);
    driver.brokenControlPlaneVersions.add('v1.30.0');
    const { rollout, cluster: after } = await upgrade(driver, 2, {});
    expect(rollout.controlPlane.stage).toBe('rolled_back');
    expect(rollout.outcome).toBe('failed');
    expect(fixture.serverVersion).toBe('v1.29.0');
    expect([...fixture.nodes.values()].every((n) => n.cordons === 0)).toBe(true);
    expect(after).toMatchObject({ status: 'upgrade_failed', version: 'v1.29.0' });
    expect(after.failureMessage).toMatch(/rolled back/);
  });
});
