import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  simulateUpgrade,
  startedUpgrade,
  type SimulationSetup,
} from '../../../test/support/k8s-upgrade-simulation';
import type { UpgradeOptions } from './cluster';
import {
  cordonedNodes,
  decideUpgrade,
  evolveUpgrade,
  planUpgrade,
  type UpgradeAction,
  type UpgradeActionResult,
  type UpgradeEvent,
  type UpgradeState,
} from './upgrade';

const T0 = new Date('2026-05-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const OPTIONS: UpgradeOptions = {
  maxUnavailable: 1,
  maxFailedNodes: 0,
  drainTimeoutSeconds: 60,
  healthTimeoutSeconds: 120,
  force: false,
};
const setup = (workers: string[], options: Partial<UpgradeOptions> = {}): SimulationSetup => ({
  workers,
  options: { ...OPTIONS, ...options },
  start: T0,
});

/** A cluster where everything works: evictions pass, kubelets come back Ready on the target. */
function healthy(action: UpgradeAction): UpgradeActionResult {
  switch (action.kind) {
    case 'prepare_cordon':
      return { kind: 'cordoned', wasUnschedulable: false };
    case 'drain':
      return { kind: 'drain_pass', remaining: 0, evicted: 2, blocked: [] };
    case 'check_node':
      return { kind: 'node_status', ready: true, kubeletVersion: 'v1.30.0' };
    case 'start_control_plane':
    case 'start_batch':
    case 'start_drain':
    case 'start_node_upgrade':
    case 'skip':
    case 'finish':
      return { kind: 'none' };
    case 'upgrade_control_plane':
    case 'rollback_control_plane':
    case 'cordon':
    case 'upgrade_node':
    case 'uncordon':
      return { kind: 'ok' };
  }
}

const apply = (state: UpgradeState, events: UpgradeEvent[]) => events.reduce(evolveUpgrade, state);
const record = (
  state: UpgradeState,
  action: UpgradeAction,
  result: UpgradeActionResult,
  now = T0,
) => decideUpgrade({ type: 'RecordUpgradeStep', action, result, now }, state);
const kinds = (actions: UpgradeAction[]) =>
  actions.map((a) => ('node' in a ? `${a.kind}:${a.node}` : a.kind));

describe('cluster upgrade rollout (given/when/then)', () => {
  it('given a started upgrade, the control plane goes first and nothing touches a worker before it', () => {
    const given = startedUpgrade(setup(['w-1', 'w-2']));
    expect(kinds(planUpgrade(given, T0))).toEqual(['start_control_plane']);
    const upgrading = apply(
      given,
      record(given, { kind: 'start_control_plane' }, { kind: 'none' }),
    );
    expect(kinds(planUpgrade(upgrading, T0))).toEqual(['upgrade_control_plane']);
    const upgraded = apply(
      upgrading,
      record(upgrading, { kind: 'upgrade_control_plane', version: 'v1.30.0' }, { kind: 'ok' }),
    );
    expect(planUpgrade(upgraded, T0)).toEqual([{ kind: 'start_batch', batch: 1, nodes: ['w-1'] }]);
  });

  it('when the control plane upgrade fails, then it is rolled back and the upgrade ends failed', () => {
    const run = simulateUpgrade(startedUpgrade(setup(['w-1'])), (action) =>
      action.kind === 'upgrade_control_plane'
        ? { kind: 'error', message: 'kubeadm upgrade apply: preflight failed' }
        : healthy(action),
    );
    expect(run.events.map((e) => e.type)).toEqual([
      'ControlPlaneUpgradeStarted',
      'ControlPlaneUpgradeFailed',
      'ControlPlaneRolledBack',
      'UpgradeFinished',
    ]);
    expect(run.state.outcome).toBe('failed');
    expect(run.actions.some((a) => a.kind === 'cordon')).toBe(false);
  });

  it('given workers, each goes cordon -> drain -> upgrade -> health gate -> uncordon, in batches of max_unavailable', () => {
    const run = simulateUpgrade(
      startedUpgrade(setup(['w-1', 'w-2', 'w-3'], { maxUnavailable: 2 })),
      healthy,
    );
    expect(run.state.outcome).toBe('succeeded');
    const w1 = run.events
      .filter((e) => 'node' in e.data && e.data.node === 'w-1')
      .map((e) => e.type);
    expect(w1).toEqual([
      'NodeCordonStarted',
      'NodeCordoned',
      'NodeDrainStarted',
      'NodeDrained',
      'NodeUpgradeStarted',
      'NodeUpgradeApplied',
      'NodeHealthy',
      'NodeUncordoned',
    ]);
    const batches = run.events.filter((e) => e.type === 'WorkerBatchStarted').map((e) => e.data);
    expect(batches.map((b) => ('nodes' in b ? b.nodes : []))).toEqual([['w-1', 'w-2'], ['w-3']]);
    // the second batch starts only once the first is uncordoned
    const secondBatch = run.events.findIndex(
      (e) => e.type === 'WorkerBatchStarted' && e.data.batch === 2,
    );
    const lastUncordonOfFirst = run.events.findLastIndex(
      (e) => e.type === 'NodeUncordoned' && ['w-1', 'w-2'].includes(e.data.node),
    );
    expect(lastUncordonOfFirst).toBeLessThan(secondBatch);
  });

  it('given a drain blocked by a PodDisruptionBudget, then the node fails at the drain timeout and is uncordoned', () => {
    const run = simulateUpgrade(
      startedUpgrade(setup(['w-1', 'w-2'], { drainTimeoutSeconds: 30, maxFailedNodes: 1 })),
      (action) =>
        action.kind === 'drain' && action.node === 'w-1'
          ? { kind: 'drain_pass', remaining: 1, evicted: 0, blocked: ['default/web-0'] }
          : healthy(action),
      { stepMs: 10_000 },
    );
    const failed = run.events.find((e) => e.type === 'NodeFailed');
    expect(failed?.data).toMatchObject({ node: 'w-1', reason: 'drain_timeout' });
    expect(failed?.data.message).toMatch(/PodDisruptionBudget: default\/web-0/);
    // never before the deadline: started at T0+0, three passes fail inside 30 s
    expect(Date.parse(failed?.data.at ?? '')).toBeGreaterThanOrEqual(T0.getTime() + 30_000);
    expect(run.state.nodes['w-1']).toMatchObject({ stage: 'failed', cordoned: false });
    expect(run.state.nodes['w-1'].stage).not.toBe('verifying');
    expect(run.state.nodes['w-2'].stage).toBe('done');
    expect(run.state.outcome).toBe('succeeded');
    // never upgraded, never drained twice after failing
    expect(run.actions.filter((a) => a.kind === 'upgrade_node' && a.node === 'w-1')).toEqual([]);
  });

  it('given force, a drain past its timeout deletes what is left and the node goes on', () => {
    const run = simulateUpgrade(
      startedUpgrade(setup(['w-1'], { drainTimeoutSeconds: 20, force: true })),
      (action) =>
        action.kind === 'drain' && !action.force
          ? { kind: 'drain_pass', remaining: 1, evicted: 0, blocked: ['default/web-0'] }
          : healthy(action),
      { stepMs: 10_000 },
    );
    expect(run.events.find((e) => e.type === 'NodeDrained')?.data).toMatchObject({ forced: true });
    expect(run.state.outcome).toBe('succeeded');
  });

  it('health gate: a node that stays NotReady fails at the gate; past max_failed_nodes the rollout stops', () => {
    const run = simulateUpgrade(
      startedUpgrade(setup(['w-1', 'w-2', 'w-3'], { healthTimeoutSeconds: 60 })),
      (action) =>
        action.kind === 'check_node' && action.node === 'w-1'
          ? { kind: 'node_status', ready: false, kubeletVersion: 'v1.30.0' }
          : healthy(action),
      { stepMs: 15_000 },
    );
    expect(run.events.find((e) => e.type === 'NodeFailed')?.data).toMatchObject({
      node: 'w-1',
      reason: 'health_gate',
    });
    expect(run.state.outcome).toBe('failed');
    expect(run.state.nodes['w-2'].stage).toBe('pending');
    expect(run.state.nodes['w-3'].stage).toBe('pending');
    expect(cordonedNodes(run.state)).toEqual([]);
    expect(run.events.at(-1)).toMatchObject({
      type: 'UpgradeFinished',
      data: { outcome: 'failed', upgraded: 0, failed: 1, skipped: 2 },
    });
  });

  it('health gate: Ready on the old kubelet version is not healthy', () => {
    const given = startedUpgrade(setup(['w-1']));
    const verifying: UpgradeState = {
      ...given,
      controlPlane: { ...given.controlPlane, stage: 'upgraded' },
      batch: 1,
      nodes: {
        'w-1': {
          ...given.nodes['w-1'],
          stage: 'verifying',
          batch: 1,
          cordoned: true,
          verifyStartedAt: T0.toISOString(),
        },
      },
    };
    const [check] = planUpgrade(verifying, at(10));
    expect(check).toMatchObject({ kind: 'check_node', node: 'w-1' });
    expect(
      record(
        verifying,
        check,
        { kind: 'node_status', ready: true, kubeletVersion: 'v1.29.0' },
        at(10),
      ),
    ).toEqual([]);
    expect(
      record(
        verifying,
        check,
        { kind: 'node_status', ready: true, kubeletVersion: 'v1.30.0' },
        at(10),
      ),
    ).toEqual([
      {
        type: 'NodeHealthy',
        data: { node: 'w-1', kubeletVersion: 'v1.30.0', at: at(10).toISOString() },
      },
    ]);
  });

  it('within max_failed_nodes the rollout goes on past a failure', () => {
    const run = simulateUpgrade(
      startedUpgrade(setup(['w-1', 'w-2', 'w-3'], { maxFailedNodes: 1 })),
      (action) =>
        action.kind === 'upgrade_node' && action.node === 'w-2'
          ? { kind: 'error', message: 'kubelet package missing' }
          : healthy(action),
    );
    expect(run.state.outcome).toBe('succeeded');
    expect(run.state.nodes['w-2']).toMatchObject({ stage: 'failed', cordoned: false });
    expect(run.state.nodes['w-3'].stage).toBe('done');
  });

  it('cancel: the node in flight finishes, nothing new starts, the upgrade ends cancelled', () => {
    let cancelled = false;
    const run = simulateUpgrade(startedUpgrade(setup(['w-1', 'w-2', 'w-3'])), healthy, {
      before: (state, _round, now) => {
        if (cancelled || state.nodes['w-1'].stage !== 'verifying') return [];
        cancelled = true;
        return decideUpgrade({ type: 'RequestUpgradeCancel', now }, state);
      },
    });
    expect(run.state.outcome).toBe('cancelled');
    expect(run.state.nodes['w-1'].stage).toBe('done');
    expect(run.state.nodes['w-2'].stage).toBe('pending');
    expect(cordonedNodes(run.state)).toEqual([]);
  });

  it('cancel before a node is upgraded skips and uncordons it', () => {
    let cancelled = false;
    const run = simulateUpgrade(startedUpgrade(setup(['w-1', 'w-2'])), healthy, {
      before: (state, _round, now) => {
        if (cancelled || state.nodes['w-1'].stage !== 'cordoned') return [];
        cancelled = true;
        return decideUpgrade({ type: 'RequestUpgradeCancel', now }, state);
      },
    });
    expect(run.state.nodes['w-1']).toMatchObject({ stage: 'skipped', cordoned: false });
    expect(run.actions.some((a) => a.kind === 'drain')).toBe(false);
    expect(run.state.outcome).toBe('cancelled');
  });

  it('cancel of a finished upgrade is 409; a second cancel is a no-op', () => {
    const done = simulateUpgrade(startedUpgrade(setup(['w-1'])), healthy).state;
    expect(() => decideUpgrade({ type: 'RequestUpgradeCancel', now: T0 }, done)).toThrow(
      /already finished/,
    );
    const given = startedUpgrade(setup(['w-1']));
    const once = apply(given, decideUpgrade({ type: 'RequestUpgradeCancel', now: T0 }, given));
    expect(decideUpgrade({ type: 'RequestUpgradeCancel', now: T0 }, once)).toEqual([]);
  });

  it('a node somebody else had cordoned is not uncordoned by the upgrade', () => {
    const run = simulateUpgrade(startedUpgrade(setup(['w-1'])), (action) =>
      action.kind === 'prepare_cordon'
        ? { kind: 'cordoned', wasUnschedulable: true }
        : healthy(action),
    );
    const uncordon = run.actions.find((a) => a.kind === 'uncordon');
    expect(uncordon).toMatchObject({ restore: false });
  });

  it('a result recorded for an action the plan no longer offers changes nothing (a late or repeated step)', () => {
    const run = simulateUpgrade(startedUpgrade(setup(['w-1'])), healthy);
    expect(
      record(
        run.state,
        { kind: 'drain', node: 'w-1', deadline: T0.toISOString(), force: false },
        {
          kind: 'drain_pass',
          remaining: 0,
          evicted: 3,
          blocked: [],
        },
      ),
    ).toEqual([]);
  });
});

describe('cluster upgrade rollout (property)', () => {
  type Fault = 'ok' | 'pdb' | 'upgrade_error' | 'not_ready' | 'slow';
  const arbitraryRun = fc.record({
    faults: fc.array(
      fc.constantFrom<Fault>('ok', 'ok', 'pdb', 'upgrade_error', 'not_ready', 'slow'),
      {
        minLength: 1,
        maxLength: 9,
      },
    ),
    maxUnavailable: fc.integer({ min: 1, max: 4 }),
    maxFailedNodes: fc.integer({ min: 0, max: 3 }),
    force: fc.boolean(),
    controlPlaneFails: fc.boolean(),
    cancelAtRound: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
  });

  it('for any failure pattern: no node stays cordoned, never more than max_unavailable out, each node drained at most once', () => {
    fc.assert(
      fc.property(arbitraryRun, (r) => {
        const workers = r.faults.map((_, i) => `w-${i}`);
        const fault = (node: string) => r.faults[Number(node.slice(2))];
        const initial = startedUpgrade(
          setup(workers, {
            maxUnavailable: r.maxUnavailable,
            maxFailedNodes: r.maxFailedNodes,
            force: r.force,
            drainTimeoutSeconds: 30,
            healthTimeoutSeconds: 30,
          }),
        );
        let slowPasses = 0;
        let maxOut = 0;
        const run = simulateUpgrade(
          initial,
          (action) => {
            if (action.kind === 'upgrade_control_plane' && r.controlPlaneFails) {
              return { kind: 'error', message: 'control plane did not come back' };
            }
            if (!('node' in action)) return healthy(action);
            const f = fault(action.node);
            if (action.kind === 'drain' && f === 'pdb' && !action.force) {
              return { kind: 'drain_pass', remaining: 1, evicted: 0, blocked: ['ns/pod'] };
            }
            if (action.kind === 'drain' && f === 'slow' && slowPasses++ % 3 !== 2) {
              return { kind: 'drain_pass', remaining: 1, evicted: 1, blocked: [] };
            }
            if (action.kind === 'upgrade_node' && f === 'upgrade_error') {
              return { kind: 'error', message: 'boom' };
            }
            if (action.kind === 'check_node' && f === 'not_ready') {
              return { kind: 'node_status', ready: false, kubeletVersion: 'v1.29.0' };
            }
            return healthy(action);
          },
          {
            stepMs: 10_000,
            observe: (state) => {
              maxOut = Math.max(maxOut, cordonedNodes(state).length);
            },
            before: (state, round, now) =>
              round === r.cancelAtRound && state.status === 'running'
                ? decideUpgrade({ type: 'RequestUpgradeCancel', now }, state)
                : [],
          },
        );
        expect(run.state.status).toBe('finished');
        expect(cordonedNodes(run.state)).toEqual([]);
        expect(maxOut).toBeLessThanOrEqual(r.maxUnavailable);
        for (const w of workers) {
          const drained = run.events.filter((e) => e.type === 'NodeDrained' && e.data.node === w);
          expect(drained.length).toBeLessThanOrEqual(1);
        }
        if (run.events.some((e) => e.type === 'ControlPlaneUpgradeFailed')) {
          expect(run.state.outcome).toBe('failed');
          expect(run.events.some((e) => e.type === 'ControlPlaneRolledBack')).toBe(true);
          expect(run.events.some((e) => e.type === 'NodeCordonStarted')).toBe(false);
        }
        const failed = workers.filter((w) => run.state.nodes[w].stage === 'failed').length;
        if (run.state.outcome === 'succeeded') expect(failed).toBeLessThanOrEqual(r.maxFailedNodes);
        // a node failed beyond the threshold stops the rollout: no node starts after that
        if (failed > r.maxFailedNodes) expect(run.state.outcome).toBe('failed');
      }),
      { numRuns: 300 },
    );
  });
});
