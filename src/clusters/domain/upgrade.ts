/**
 * One cluster upgrade (stream `cluster-upgrade-<upgradeId>`): the rollout's every step is an event
 * here, and what to do next is a pure function of this stream and the time (`planUpgrade`), so a
 * process that dies at any point is replaced by one that continues from the recorded step.
 *
 * Order: the control plane first (a failure rolls it back and ends the upgrade `failed`), then the
 * workers in batches of `maxUnavailable`. Per worker:
 *
 *   pending -> cordoning -> cordoned -> draining -> drained -> upgrading -> verifying -> healthy -> done
 *                                 \-> failed (drain_timeout)   \-> failed (upgrade_error | health_gate)
 *
 * Before cordoning, the node's schedulability is read and recorded (`NodeCordonStarted`), so a
 * node somebody else had cordoned stays cordoned, and a crash between the cordon and its record
 * still knows the node is the upgrade's to uncordon. A failed or skipped node is uncordoned (when Nimbus cordoned it). Past `maxFailedNodes` failures,
 * or once a cancel is asked, no new node is started: nodes not yet upgrading are skipped and
 * uncordoned, nodes whose kubelet is being replaced finish their health gate, and the upgrade
 * ends. A node is drained at most once: `drain` is planned only while it is `draining`.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import type { UpgradeOptions, UpgradeOutcome } from './cluster';

export const CLUSTER_UPGRADE_CATEGORY = 'cluster-upgrade';

export type ControlPlaneStage = 'pending' | 'upgrading' | 'upgraded' | 'failed' | 'rolled_back';
export type NodeStage =
  | 'pending'
  | 'cordoning'
  | 'cordoned'
  | 'draining'
  | 'drained'
  | 'upgrading'
  | 'verifying'
  | 'healthy'
  | 'done'
  | 'failed'
  | 'skipped';
export type NodeFailureReason = 'drain_timeout' | 'upgrade_error' | 'health_gate';

export interface NodeProgress {
  name: string;
  stage: NodeStage;
  /** Unschedulable because of this upgrade (and not yet uncordoned). */
  cordoned: boolean;
  /** Whether the node was schedulable before: only then does the upgrade uncordon it. */
  cordonedByUs: boolean;
  batch: number | null;
  drainStartedAt: string | null;
  evicted: number;
  forced: boolean;
  verifyStartedAt: string | null;
  kubeletVersion: string | null;
  failure: { reason: NodeFailureReason; message: string } | null;
}

export interface UpgradeState {
  status: 'none' | 'running' | 'finished';
  upgradeId: string | null;
  clusterId: string | null;
  tenantId: string | null;
  fromVersion: string;
  toVersion: string;
  options: UpgradeOptions;
  controlPlane: { stage: ControlPlaneStage; nodes: string[]; error: string | null };
  /** Workers in rollout order. */
  order: string[];
  nodes: Record<string, NodeProgress>;
  batch: number;
  cancelRequested: boolean;
  outcome: UpgradeOutcome | null;
  startedAt: string | null;
  finishedAt: string | null;
}

// ---- events -----------------------------------------------------------------------------------

type At = { at: string };
type OnNode = { node: string; at: string };

export type UpgradeEvent =
  | {
      type: 'UpgradeStarted';
      data: {
        upgradeId: string;
        clusterId: string;
        tenantId: string;
        fromVersion: string;
        toVersion: string;
        options: UpgradeOptions;
        controlPlaneNodes: string[];
        workers: string[];
        at: string;
      };
    }
  | { type: 'ControlPlaneUpgradeStarted'; data: At }
  | { type: 'ControlPlaneUpgraded'; data: At }
  | { type: 'ControlPlaneUpgradeFailed'; data: { error: string; at: string } }
  | { type: 'ControlPlaneRolledBack'; data: At }
  | { type: 'WorkerBatchStarted'; data: { batch: number; nodes: string[]; at: string } }
  | { type: 'NodeCordonStarted'; data: { node: string; byUs: boolean; at: string } }
  | { type: 'NodeCordoned'; data: OnNode }
  | { type: 'NodeDrainStarted'; data: OnNode }
  | { type: 'NodeDrained'; data: { node: string; evicted: number; forced: boolean; at: string } }
  | { type: 'NodeUpgradeStarted'; data: OnNode }
  | { type: 'NodeUpgradeApplied'; data: OnNode }
  | { type: 'NodeHealthy'; data: { node: string; kubeletVersion: string; at: string } }
  | {
      type: 'NodeFailed';
      data: { node: string; reason: NodeFailureReason; message: string; at: string };
    }
  | { type: 'NodeSkipped'; data: OnNode }
  | { type: 'NodeUncordoned'; data: OnNode }
  | { type: 'UpgradeCancelRequested'; data: At }
  | {
      type: 'UpgradeFinished';
      data: {
        outcome: UpgradeOutcome;
        upgraded: number;
        failed: number;
        skipped: number;
        at: string;
      };
    };

export const UPGRADE_EVENT_TYPES: readonly UpgradeEvent['type'][] = [
  'UpgradeStarted',
  'ControlPlaneUpgradeStarted',
  'ControlPlaneUpgraded',
  'ControlPlaneUpgradeFailed',
  'ControlPlaneRolledBack',
  'WorkerBatchStarted',
  'NodeCordonStarted',
  'NodeCordoned',
  'NodeDrainStarted',
  'NodeDrained',
  'NodeUpgradeStarted',
  'NodeUpgradeApplied',
  'NodeHealthy',
  'NodeFailed',
  'NodeSkipped',
  'NodeUncordoned',
  'UpgradeCancelRequested',
  'UpgradeFinished',
];

// ---- actions and their results ----------------------------------------------------------------

/** What the rollout does next. The `start_*`, `skip` and `finish` actions only record. */
export type UpgradeAction =
  | { kind: 'start_control_plane' }
  | { kind: 'upgrade_control_plane'; version: string }
  | { kind: 'rollback_control_plane'; version: string }
  | { kind: 'start_batch'; batch: number; nodes: string[] }
  | { kind: 'prepare_cordon'; node: string }
  | { kind: 'cordon'; node: string }
  | { kind: 'start_drain'; node: string }
  | { kind: 'drain'; node: string; deadline: string; force: boolean }
  | { kind: 'start_node_upgrade'; node: string }
  | { kind: 'upgrade_node'; node: string; version: string }
  | { kind: 'check_node'; node: string; deadline: string }
  | { kind: 'skip'; node: string }
  | { kind: 'uncordon'; node: string; restore: boolean }
  | { kind: 'finish'; outcome: UpgradeOutcome };

export type UpgradeActionResult =
  | { kind: 'none' }
  | { kind: 'ok' }
  | { kind: 'error'; message: string }
  | { kind: 'cordoned'; wasUnschedulable: boolean }
  /** One pass of evictions: pods still on the node after it (blocked by a budget, or going). */
  | { kind: 'drain_pass'; remaining: number; evicted: number; blocked: string[] }
  | { kind: 'node_status'; ready: boolean; kubeletVersion: string | null };

export const RECORD_ONLY_ACTIONS: ReadonlySet<UpgradeAction['kind']> = new Set([
  'start_control_plane',
  'start_batch',
  'start_drain',
  'start_node_upgrade',
  'skip',
  'finish',
]);

export function actionKey(action: UpgradeAction): string {
  return 'node' in action ? `${action.kind}:${action.node}` : action.kind;
}

// ---- state ------------------------------------------------------------------------------------

const NO_OPTIONS: UpgradeOptions = {
  maxUnavailable: 1,
  maxFailedNodes: 0,
  drainTimeoutSeconds: 300,
  healthTimeoutSeconds: 600,
  force: false,
};

export function initialUpgradeState(): UpgradeState {
  return {
    status: 'none',
    upgradeId: null,
    clusterId: null,
    tenantId: null,
    fromVersion: '',
    toVersion: '',
    options: NO_OPTIONS,
    controlPlane: { stage: 'pending', nodes: [], error: null },
    order: [],
    nodes: {},
    batch: 0,
    cancelRequested: false,
    outcome: null,
    startedAt: null,
    finishedAt: null,
  };
}

function newNode(name: string): NodeProgress {
  return {
    name,
    stage: 'pending',
    cordoned: false,
    cordonedByUs: false,
    batch: null,
    drainStartedAt: null,
    evicted: 0,
    forced: false,
    verifyStartedAt: null,
    kubeletVersion: null,
    failure: null,
  };
}

function withNode(
  state: UpgradeState,
  name: string,
  change: (n: NodeProgress) => Partial<NodeProgress>,
): UpgradeState {
  const node = state.nodes[name];
  if (!node) return state;
  return { ...state, nodes: { ...state.nodes, [name]: { ...node, ...change(node) } } };
}

export function evolveUpgrade(state: UpgradeState, event: UpgradeEvent): UpgradeState {
  switch (event.type) {
    case 'UpgradeStarted': {
      const d = event.data;
      return {
        ...initialUpgradeState(),
        status: 'running',
        upgradeId: d.upgradeId,
        clusterId: d.clusterId,
        tenantId: d.tenantId,
        fromVersion: d.fromVersion,
        toVersion: d.toVersion,
        options: d.options,
        controlPlane: { stage: 'pending', nodes: d.controlPlaneNodes, error: null },
        order: d.workers,
        nodes: Object.fromEntries(d.workers.map((w) => [w, newNode(w)])),
        // A cancel may arrive before the rollout has read the nodes.
        cancelRequested: state.cancelRequested,
        startedAt: d.at,
      };
    }
    case 'ControlPlaneUpgradeStarted':
      return { ...state, controlPlane: { ...state.controlPlane, stage: 'upgrading' } };
    case 'ControlPlaneUpgraded':
      return { ...state, controlPlane: { ...state.controlPlane, stage: 'upgraded' } };
    case 'ControlPlaneUpgradeFailed':
      return {
        ...state,
        controlPlane: { ...state.controlPlane, stage: 'failed', error: event.data.error },
      };
    case 'ControlPlaneRolledBack':
      return { ...state, controlPlane: { ...state.controlPlane, stage: 'rolled_back' } };
    case 'WorkerBatchStarted': {
      let next: UpgradeState = { ...state, batch: event.data.batch };
      for (const n of event.data.nodes)
        next = withNode(next, n, () => ({ batch: event.data.batch }));
      return next;
    }
    case 'NodeCordonStarted':
      return withNode(state, event.data.node, () => ({
        stage: 'cordoning',
        cordoned: true,
        cordonedByUs: event.data.byUs,
      }));
    case 'NodeCordoned':
      return withNode(state, event.data.node, () => ({ stage: 'cordoned' }));
    case 'NodeDrainStarted':
      return withNode(state, event.data.node, () => ({
        stage: 'draining',
        drainStartedAt: event.data.at,
      }));
    case 'NodeDrained':
      return withNode(state, event.data.node, () => ({
        stage: 'drained',
        evicted: event.data.evicted,
        forced: event.data.forced,
      }));
    case 'NodeUpgradeStarted':
      return withNode(state, event.data.node, () => ({ stage: 'upgrading' }));
    case 'NodeUpgradeApplied':
      return withNode(state, event.data.node, () => ({
        stage: 'verifying',
        verifyStartedAt: event.data.at,
      }));
    case 'NodeHealthy':
      return withNode(state, event.data.node, () => ({
        stage: 'healthy',
        kubeletVersion: event.data.kubeletVersion,
      }));
    case 'NodeFailed':
      return withNode(state, event.data.node, () => ({
        stage: 'failed',
        failure: { reason: event.data.reason, message: event.data.message },
      }));
    case 'NodeSkipped':
      return withNode(state, event.data.node, () => ({ stage: 'skipped' }));
    case 'NodeUncordoned':
      return withNode(state, event.data.node, (n) => ({
        cordoned: false,
        stage: n.stage === 'healthy' ? 'done' : n.stage,
      }));
    case 'UpgradeCancelRequested':
      return { ...state, cancelRequested: true };
    case 'UpgradeFinished':
      return {
        ...state,
        status: 'finished',
        outcome: event.data.outcome,
        finishedAt: event.data.at,
      };
    default:
      return assertUnreachable(event);
  }
}

// ---- the plan ---------------------------------------------------------------------------------

const SETTLED: ReadonlySet<NodeStage> = new Set(['done', 'failed', 'skipped']);
/** Stages after which a node's kubelet may already be replaced: it finishes its health gate. */
const COMMITTED: ReadonlySet<NodeStage> = new Set(['upgrading', 'verifying', 'healthy']);

export function failedCount(state: UpgradeState): number {
  return state.order.filter((n) => state.nodes[n].stage === 'failed').length;
}

/** No new node starts: a cancel was asked, or more nodes failed than tolerated. */
export function isStopping(state: UpgradeState): boolean {
  return state.cancelRequested || failedCount(state) > state.options.maxFailedNodes;
}

/** Workers unschedulable because of this upgrade. */
export function cordonedNodes(state: UpgradeState): string[] {
  return state.order.filter((n) => state.nodes[n].cordoned);
}

function addSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}

function nodeAction(
  state: UpgradeState,
  node: NodeProgress,
  stopping: boolean,
  now: Date,
): UpgradeAction | null {
  const name = node.name;
  if (stopping && !COMMITTED.has(node.stage) && !SETTLED.has(node.stage)) {
    return { kind: 'skip', node: name };
  }
  switch (node.stage) {
    case 'pending':
      return { kind: 'prepare_cordon', node: name };
    case 'cordoning':
      return { kind: 'cordon', node: name };
    case 'cordoned':
      return { kind: 'start_drain', node: name };
    case 'draining': {
      const deadline = addSeconds(node.drainStartedAt as string, state.options.drainTimeoutSeconds);
      const late = now.getTime() >= Date.parse(deadline);
      return { kind: 'drain', node: name, deadline, force: late && state.options.force };
    }
    case 'drained':
      return { kind: 'start_node_upgrade', node: name };
    case 'upgrading':
      return { kind: 'upgrade_node', node: name, version: state.toVersion };
    case 'verifying':
      return {
        kind: 'check_node',
        node: name,
        deadline: addSeconds(node.verifyStartedAt as string, state.options.healthTimeoutSeconds),
      };
    case 'healthy':
      return { kind: 'uncordon', node: name, restore: node.cordonedByUs };
    case 'done':
      return null;
    case 'failed':
    case 'skipped':
      return node.cordoned ? { kind: 'uncordon', node: name, restore: node.cordonedByUs } : null;
    default:
      return assertUnreachable(node.stage);
  }
}

function outcomeOf(state: UpgradeState): UpgradeOutcome {
  if (failedCount(state) > state.options.maxFailedNodes) return 'failed';
  const unfinished = state.order.some((n) => !['done', 'failed'].includes(state.nodes[n].stage));
  return state.cancelRequested && unfinished ? 'cancelled' : 'succeeded';
}

/**
 * Everything the rollout may do now, in order; empty once the upgrade has finished. Actions of
 * the nodes of one batch are independent: the runner performs them all, records what each
 * changed, and plans again (waiting a little when nothing changed, as when a drain is blocked).
 */
export function planUpgrade(state: UpgradeState, now: Date): UpgradeAction[] {
  if (state.status !== 'running') return [];
  switch (state.controlPlane.stage) {
    case 'pending':
      return state.cancelRequested
        ? [{ kind: 'finish', outcome: 'cancelled' }]
        : [{ kind: 'start_control_plane' }];
    case 'upgrading':
      return [{ kind: 'upgrade_control_plane', version: state.toVersion }];
    case 'failed':
      return [{ kind: 'rollback_control_plane', version: state.fromVersion }];
    case 'rolled_back':
      return [{ kind: 'finish', outcome: 'failed' }];
    case 'upgraded':
      break;
    default:
      return assertUnreachable(state.controlPlane.stage);
  }
  const stopping = isStopping(state);
  const actions: UpgradeAction[] = [];
  for (const name of state.order) {
    const node = state.nodes[name];
    if (node.batch === null || node.batch !== state.batch) continue;
    const action = nodeAction(state, node, stopping, now);
    if (action) actions.push(action);
  }
  if (actions.length > 0) return actions;
  const pending = state.order.filter((n) => state.nodes[n].stage === 'pending');
  if (!stopping && pending.length > 0) {
    return [
      {
        kind: 'start_batch',
        batch: state.batch + 1,
        nodes: pending.slice(0, Math.max(1, state.options.maxUnavailable)),
      },
    ];
  }
  return [{ kind: 'finish', outcome: outcomeOf(state) }];
}

/** The events that record an action's result (none when nothing changed yet). */
export function eventsOf(
  state: UpgradeState,
  action: UpgradeAction,
  result: UpgradeActionResult,
  now: Date,
): UpgradeEvent[] {
  const at = now.toISOString();
  switch (action.kind) {
    case 'start_control_plane':
      return [{ type: 'ControlPlaneUpgradeStarted', data: { at } }];
    case 'upgrade_control_plane':
      if (result.kind === 'error') {
        return [{ type: 'ControlPlaneUpgradeFailed', data: { error: result.message, at } }];
      }
      return [{ type: 'ControlPlaneUpgraded', data: { at } }];
    case 'rollback_control_plane':
      return result.kind === 'ok' ? [{ type: 'ControlPlaneRolledBack', data: { at } }] : [];
    case 'start_batch':
      return [
        { type: 'WorkerBatchStarted', data: { batch: action.batch, nodes: action.nodes, at } },
      ];
    case 'prepare_cordon':
      if (result.kind !== 'cordoned') return [];
      return [
        {
          type: 'NodeCordonStarted',
          data: { node: action.node, byUs: !result.wasUnschedulable, at },
        },
      ];
    case 'cordon':
      return result.kind === 'ok'
        ? [{ type: 'NodeCordoned', data: { node: action.node, at } }]
        : [];
    case 'start_drain':
      return [{ type: 'NodeDrainStarted', data: { node: action.node, at } }];
    case 'drain': {
      if (result.kind !== 'drain_pass') return [];
      const evicted = state.nodes[action.node].evicted + result.evicted;
      if (result.remaining === 0) {
        return [
          { type: 'NodeDrained', data: { node: action.node, evicted, forced: action.force, at } },
        ];
      }
      if (now.getTime() < Date.parse(action.deadline) || action.force) return [];
      return [
        {
          type: 'NodeFailed',
          data: {
            node: action.node,
            reason: 'drain_timeout',
            message: `drain did not finish by ${action.deadline}: ${result.remaining} pod(s) left${
              result.blocked.length > 0
                ? ` (eviction refused by a PodDisruptionBudget: ${result.blocked.slice(0, 5).join(', ')})`
                : ''
            }`,
            at,
          },
        },
      ];
    }
    case 'start_node_upgrade':
      return [{ type: 'NodeUpgradeStarted', data: { node: action.node, at } }];
    case 'upgrade_node':
      if (result.kind === 'error') {
        return [
          {
            type: 'NodeFailed',
            data: { node: action.node, reason: 'upgrade_error', message: result.message, at },
          },
        ];
      }
      return [{ type: 'NodeUpgradeApplied', data: { node: action.node, at } }];
    case 'check_node': {
      const ready = result.kind === 'node_status' && result.ready;
      const version = result.kind === 'node_status' ? result.kubeletVersion : null;
      if (ready && version === state.toVersion) {
        return [{ type: 'NodeHealthy', data: { node: action.node, kubeletVersion: version, at } }];
      }
      if (now.getTime() < Date.parse(action.deadline)) return [];
      const seen =
        result.kind === 'node_status'
          ? `${result.ready ? 'Ready' : 'NotReady'}, kubelet ${result.kubeletVersion ?? 'unknown'}`
          : result.kind === 'error'
            ? result.message
            : 'no answer';
      return [
        {
          type: 'NodeFailed',
          data: {
            node: action.node,
            reason: 'health_gate',
            message: `not Ready on ${state.toVersion} by ${action.deadline} (${seen})`,
            at,
          },
        },
      ];
    }
    case 'skip':
      return [{ type: 'NodeSkipped', data: { node: action.node, at } }];
    case 'uncordon':
      return result.kind === 'ok' || result.kind === 'none'
        ? [{ type: 'NodeUncordoned', data: { node: action.node, at } }]
        : [];
    case 'finish': {
      const count = (stages: NodeStage[]) =>
        state.order.filter((n) => stages.includes(state.nodes[n].stage)).length;
      return [
        {
          type: 'UpgradeFinished',
          data: {
            outcome: action.outcome,
            upgraded: count(['done', 'healthy']),
            failed: count(['failed']),
            skipped: state.order.length - count(['done', 'healthy', 'failed']),
            at,
          },
        },
      ];
    }
    default:
      return assertUnreachable(action);
  }
}

// ---- the decider ------------------------------------------------------------------------------

export interface StartRollout {
  type: 'StartRollout';
  upgradeId: string;
  clusterId: string;
  tenantId: string;
  fromVersion: string;
  toVersion: string;
  options: UpgradeOptions;
  controlPlaneNodes: string[];
  workers: string[];
  now: Date;
}
export interface RequestUpgradeCancel {
  type: 'RequestUpgradeCancel';
  now: Date;
}
/** Records what an action did; ignored unless the action is still one the plan offers. */
export interface RecordUpgradeStep {
  type: 'RecordUpgradeStep';
  action: UpgradeAction;
  result: UpgradeActionResult;
  now: Date;
}
export type UpgradeCommand = StartRollout | RequestUpgradeCancel | RecordUpgradeStep;

export function decideUpgrade(command: UpgradeCommand, state: UpgradeState): UpgradeEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'StartRollout': {
      if (state.status !== 'none') return [];
      const { type: _t, now: _n, ...data } = command;
      return [{ type: 'UpgradeStarted', data: { ...data, workers: [...data.workers].sort(), at } }];
    }
    case 'RequestUpgradeCancel':
      if (state.status === 'finished') {
        throw AppError.invalidState(`the upgrade has already finished (${state.outcome})`, {
          resource: 'cluster_upgrade',
          id: state.upgradeId,
          outcome: state.outcome,
        });
      }
      if (state.cancelRequested) return [];
      return [{ type: 'UpgradeCancelRequested', data: { at } }];
    case 'RecordUpgradeStep': {
      const key = actionKey(command.action);
      const planned = planUpgrade(state, command.now).find((a) => actionKey(a) === key);
      if (!planned) return [];
      return eventsOf(state, planned, command.result, command.now);
    }
    default:
      return assertUnreachable(command);
  }
}

export const upgradeDecider: Decider<UpgradeCommand, UpgradeEvent, UpgradeState> = {
  category: CLUSTER_UPGRADE_CATEGORY,
  initialState: initialUpgradeState,
  evolve: evolveUpgrade,
  decide: decideUpgrade,
};
