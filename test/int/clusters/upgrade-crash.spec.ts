/**
 * The cluster-upgrade saga killed (SIGKILL, a real child process) at its kinds of steps (each
 * kind of action, once recorded and once done on the cluster but not recorded) and restarted: the rollout continues from the recorded step and ends as an uninterrupted one does,
 * event for event, with no node drained twice and none left cordoned. A failing control plane,
 * killed between the failure and its rollback, is rolled back exactly once. The cluster is the
 * Kubernetes-API fixture (test/support/k8s-api-fixture.ts) in this process, reached by the child
 * over HTTP through the real client; the event store is real PostgreSQL.
 */
import { resolve } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { clusterDecider } from '../../../src/clusters/domain';
import { KubernetesApiFixture } from '../../support/k8s-api-fixture';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { SagaChildren } from '../network/fixtures/saga-kill';
import { nodeRecords, upgradingCluster, type UpgradeScene } from './fixtures/upgrade-scene';

const FROM = 'v1.29.0';
const TO = 'v1.30.0';

describe('cluster upgrade saga, killed at each step (real child process)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let executor: CommandExecutor;
  const fixtures: KubernetesApiFixture[] = [];
  const children = new SagaChildren(
    resolve(__dirname, 'fixtures/upgrade-child.ts'),
    'cluster upgrade',
  );
  const timings: string[] = [];
  /** The upgrade stream's event types of a rollout nobody interrupted (the first test). */
  let uninterrupted: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('cluster_upgrade_crash');
    store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
    await store.init();
    executor = new CommandExecutor(store);
  });

  afterEach(async () => {
    await children.killAll();
    for (const f of fixtures.splice(0)) await f.stop();
  });

  afterAll(async () => {
    if (timings.length > 0) console.info(`[upgrade kills]\n  ${timings.join('\n  ')}`);
    await store?.close();
    await db?.drop();
  });

  interface Scene extends UpgradeScene {
    fixture: KubernetesApiFixture;
  }

  /** Two workers, a ReplicaSet pod on each and a DaemonSet pod; the upgrade recorded. */
  async function scene(): Promise<Scene> {
    const fixture = await new KubernetesApiFixture({ version: FROM, workers: 2 }).start();
    fixtures.push(fixture);
    for (const node of ['worker-0', 'worker-1']) {
      fixture.addPod({ namespace: 'shop', node, labels: { app: 'web' }, owner: 'ReplicaSet' });
      fixture.addPod({
        namespace: 'kube-system',
        node,
        labels: { app: 'proxy' },
        owner: 'DaemonSet',
      });
    }
    const recorded = await upgradingCluster(executor, nodeRecords(2, FROM), {
      maxUnavailable: 1,
      maxFailedNodes: 0,
    });
    return { ...recorded, fixture };
  }

  function spawn(s: Scene, env: Record<string, string> = {}) {
    return children.spawn({
      UPGRADE_TEST_DB: db.url,
      UPGRADE_ID: s.upgradeId,
      UPGRADE_CLUSTER_ID: s.clusterId,
      UPGRADE_TENANT_ID: s.tenantId,
      UPGRADE_FIXTURE_URL: s.fixture.url,
      UPGRADE_KUBECONFIG: s.fixture.kubeconfig(),
      ...env,
    });
  }

  async function upgradeEvents(s: Scene): Promise<string[]> {
    return (await store.readStream(`cluster-upgrade-${s.upgradeId}`)).map((e) => e.type);
  }

  async function clusterEvents(s: Scene): Promise<string[]> {
    return (await store.readStream(`cluster-${s.clusterId}`)).map((e) => e.type);
  }

  /** 201 evictions per node: what the drains took off each. */
  function evictedPerNode(fixture: KubernetesApiFixture): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of fixture.evictions) {
      if (e.status === 201) counts[e.node] = (counts[e.node] ?? 0) + 1;
    }
    return counts;
  }

  async function expectUpgradedOnce(s: Scene): Promise<void> {
    const { fixture } = s;
    expect(fixture.serverVersion).toBe(TO);
    expect([...fixture.nodes.values()].map((n) => n.kubeletVersion)).toEqual(Array(3).fill(TO));
    // no node left cordoned, each worker cordoned exactly once, drained once
    expect([...fixture.nodes.values()].every((n) => !n.unschedulable)).toBe(true);
    expect([...fixture.nodes.values()].map((n) => n.cordons)).toEqual([0, 1, 1]);
    // worker-0's pod moved to worker-1, whose drain then took both; the DaemonSet pods stayed
    expect(evictedPerNode(fixture)).toEqual({ 'worker-0': 1, 'worker-1': 2 });
    const cluster = (await executor.load(clusterDecider, s.clusterId)).state;
    expect(cluster).toMatchObject({
      status: 'running',
      version: TO,
      lastUpgradeOutcome: 'succeeded',
    });
    expect((await clusterEvents(s)).filter((t) => t === 'ClusterUpgradeFinished')).toHaveLength(1);
  }

  it('uninterrupted, it upgrades everything (the reference the killed runs are held to)', async () => {
    const s = await scene();
    const child = spawn(s);
    expect(await child.next('settled')).toMatchObject({ status: 'completed' });
    await child.kill();
    await expectUpgradedOnce(s);
    uninterrupted = await upgradeEvents(s);
    expect(uninterrupted.filter((t) => t === 'NodeDrained')).toHaveLength(2);
    expect(uninterrupted.at(-1)).toBe('UpgradeFinished');
  });

  it.each([
    // recorded steps
    'after:SagaStepSucceeded:start_rollout',
    'step:cordon:worker-0',
    'step:drain:worker-0',
    'step:uncordon:worker-0',
    'step:check_node:worker-1',
    'after:SagaStepSucceeded:rollout',
    // done on the cluster, not yet recorded
    'did:control-plane',
    'did:cordon:worker-0',
    'did:evict:worker-0',
    'did:kubelet:worker-0',
    'did:uncordon:worker-1',
  ])('killed at %s, a restarted process finishes the rollout exactly once', async (pause) => {
    expect(uninterrupted.length).toBeGreaterThan(0);
    const s = await scene();
    const first = spawn(s, { UPGRADE_PAUSE: pause });
    expect((await first.next('paused')).at).toBe(pause);
    await first.kill();

    const restarted = performance.now();
    const second = spawn(s);
    expect(await second.next('settled')).toMatchObject({ status: 'completed' });
    timings.push(`${pause}: restart to settled ${Math.round(performance.now() - restarted)} ms`);
    await second.kill();

    await expectUpgradedOnce(s);
    expect(await upgradeEvents(s)).toEqual(uninterrupted);
  });

  it.each(['step:upgrade_control_plane', 'did:rollback'])(
    'a control plane that fails, killed at %s, is rolled back exactly once and no worker is touched',
    async (pause) => {
      const s = await scene();
      const env = { UPGRADE_BROKEN_VERSION: TO };
      const first = spawn(s, { ...env, UPGRADE_PAUSE: pause });
      expect((await first.next('paused')).at).toBe(pause);
      await first.kill();
      const second = spawn(s, env);
      expect(await second.next('settled')).toMatchObject({ status: 'completed' });
      await second.kill();

      expect(s.fixture.serverVersion).toBe(FROM);
      expect([...s.fixture.nodes.values()].map((n) => n.cordons)).toEqual([0, 0, 0]);
      expect(s.fixture.evictions).toEqual([]);
      const events = await upgradeEvents(s);
      expect(events.filter((t) => t === 'ControlPlaneRolledBack')).toHaveLength(1);
      expect(events.filter((t) => t === 'UpgradeFinished')).toHaveLength(1);
      const cluster = (await executor.load(clusterDecider, s.clusterId)).state;
      expect(cluster).toMatchObject({ status: 'upgrade_failed', version: FROM });
      expect((await clusterEvents(s)).filter((t) => t === 'ClusterUpgradeFinished')).toHaveLength(
        1,
      );
    },
  );
});
