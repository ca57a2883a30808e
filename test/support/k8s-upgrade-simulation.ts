/**
 * A rollout run without I/O, for specs and property tests: every planned action is answered by
 * `answer` (the cluster as the test imagines it), time moves by `stepMs` per round, and each
 * round's state is handed to `observe`. Pure apart from the callbacks.
 */
import type { UpgradeOptions } from '../../src/clusters/domain/cluster';
import {
  actionKey,
  decideUpgrade,
  evolveUpgrade,
  initialUpgradeState,
  planUpgrade,
  type UpgradeAction,
  type UpgradeActionResult,
  type UpgradeEvent,
  type UpgradeState,
} from '../../src/clusters/domain/upgrade';

export interface SimulationSetup {
  workers: string[];
  controlPlaneNodes?: string[];
  options: UpgradeOptions;
  from?: string;
  to?: string;
  start?: Date;
}

export function startedUpgrade(setup: SimulationSetup): UpgradeState {
  const events = decideUpgrade(
    {
      type: 'StartRollout',
      upgradeId: 'upgrade-1',
      clusterId: 'cluster-1',
      tenantId: 'tenant-1',
      fromVersion: setup.from ?? 'v1.29.0',
      toVersion: setup.to ?? 'v1.30.0',
      options: setup.options,
      controlPlaneNodes: setup.controlPlaneNodes ?? ['cp-0'],
      workers: setup.workers,
      now: setup.start ?? new Date('2026-05-01T10:00:00.000Z'),
    },
    initialUpgradeState(),
  );
  return events.reduce(evolveUpgrade, initialUpgradeState());
}

export interface SimulationRun {
  state: UpgradeState;
  events: UpgradeEvent[];
  actions: UpgradeAction[];
  rounds: number;
}

export function simulateUpgrade(
  initial: UpgradeState,
  answer: (action: UpgradeAction, state: UpgradeState, now: Date) => UpgradeActionResult,
  options: {
    start?: Date;
    stepMs?: number;
    maxRounds?: number;
    observe?: (state: UpgradeState, round: number) => void;
    /** Called before each round; may append events (a cancel). */
    before?: (state: UpgradeState, round: number, now: Date) => UpgradeEvent[];
  } = {},
): SimulationRun {
  let state = initial;
  let now = options.start ?? new Date(Date.parse(initial.startedAt ?? '2026-05-01T10:00:00Z'));
  const events: UpgradeEvent[] = [];
  const actions: UpgradeAction[] = [];
  const maxRounds = options.maxRounds ?? 10_000;
  let rounds = 0;
  for (; rounds < maxRounds && state.status === 'running'; rounds++) {
    for (const e of options.before?.(state, rounds, now) ?? []) {
      state = evolveUpgrade(state, e);
      events.push(e);
    }
    for (const action of planUpgrade(state, now)) {
      // The plan may have moved on since (an earlier action of this round changed it).
      if (!planUpgrade(state, now).some((a) => actionKey(a) === actionKey(action))) continue;
      actions.push(action);
      const result = answer(action, state, now);
      const recorded = decideUpgrade({ type: 'RecordUpgradeStep', action, result, now }, state);
      for (const e of recorded) {
        state = evolveUpgrade(state, e);
        events.push(e);
        options.observe?.(state, rounds);
      }
    }
    now = new Date(now.getTime() + (options.stepMs ?? 1000));
  }
  return { state, events, actions, rounds };
}
