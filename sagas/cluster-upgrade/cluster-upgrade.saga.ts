import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { ClusterNode, UpgradeOutcome } from '../../src/clusters/domain/cluster';
import {
  actionKey,
  cordonedNodes,
  planUpgrade,
  upgradeDecider,
  type UpgradeAction,
  type UpgradeActionResult,
  type UpgradeState,
} from '../../src/clusters/domain/upgrade';
import { drainPass } from '../../src/clusters/ports/drain';
import type { ClusterDriver, KubernetesApi } from '../../src/clusters/ports/kubernetes';
import { loadCluster, recordCluster } from '../cluster-lifecycle/cluster-lifecycle.saga';
import {
  defineSaga,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
} from '../runtime/definition';
import { CLUSTER_CATEGORY } from '../../src/clusters/domain/cluster';

export const CLUSTER_UPGRADE_SAGA = 'cluster_upgrade';

export interface ClusterUpgradeInput {
  clusterId: string;
  tenantId: string;
  upgradeId: string;
}

export interface ClusterUpgradePorts {
  executor: CommandExecutor;
  driver: ClusterDriver;
  /** Pause between two rounds in which nothing changed (a blocked drain, a node not Ready yet). */
  pollMs?: number;
  /** Called after each recorded step: a test hook (the crash test stops the process there). */
  onStep?: (action: UpgradeAction, state: UpgradeState) => Promise<void> | void;
}

interface UpgradeResults extends Record<string, unknown> {
  begin: null;
  start_rollout: { workers: number };
  rollout: { outcome: UpgradeOutcome };
  record_outcome: null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/** Does what an action asks of the cluster; record-only actions do nothing. */
async function perform(
  p: ClusterUpgradePorts,
  api: KubernetesApi,
  clusterId: string,
  action: UpgradeAction,
): Promise<UpgradeActionResult> {
  switch (action.kind) {
    case 'start_control_plane':
    case 'start_batch':
    case 'start_drain':
    case 'start_node_upgrade':
    case 'skip':
    case 'finish':
      return { kind: 'none' };
    case 'upgrade_control_plane':
      try {
        await p.driver.upgradeControlPlane(clusterId, action.version);
        const served = await api.serverVersion();
        if (served !== action.version) {
          return {
            kind: 'error',
            message: `the API server reports ${served}, not ${action.version}`,
          };
        }
        return { kind: 'ok' };
      } catch (error) {
        return { kind: 'error', message: messageOf(error) };
      }
    case 'rollback_control_plane':
      await p.driver.rollbackControlPlane(clusterId, action.version);
      return { kind: 'ok' };
    case 'prepare_cordon': {
      const node = await api.getNode(action.node);
      if (!node) throw new PermanentSagaError(`node ${action.node} is gone`);
      return { kind: 'cordoned', wasUnschedulable: node.unschedulable };
    }
    case 'cordon':
      await api.setUnschedulable(action.node, true);
      return { kind: 'ok' };
    case 'drain':
      try {
        const pass = await drainPass(api, action.node, action.force);
        return { kind: 'drain_pass', ...pass };
      } catch (error) {
        // An API error is a pass that drained nothing: the deadline still bounds it.
        return { kind: 'drain_pass', remaining: 1, evicted: 0, blocked: [messageOf(error)] };
      }
    case 'upgrade_node':
      try {
        await p.driver.upgradeKubelet(clusterId, action.node, action.version);
        return { kind: 'ok' };
      } catch (error) {
        return { kind: 'error', message: messageOf(error) };
      }
    case 'check_node':
      try {
        const node = await api.getNode(action.node);
        return node
          ? { kind: 'node_status', ready: node.ready, kubeletVersion: node.kubeletVersion }
          : { kind: 'error', message: `node ${action.node} is gone` };
      } catch (error) {
        return { kind: 'error', message: messageOf(error) };
      }
    case 'uncordon':
      if (action.restore) await api.setUnschedulable(action.node, false);
      return { kind: 'ok' };
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Runs the rollout until the upgrade stream records its end. Each round plans from the stream,
 * performs each action still planned (re-read just before, so a cancel stops what it should),
 * and records its result with a command id derived from the stream's revision: a repeat after a
 * crash appends nothing twice. A round in which nothing changed waits `pollMs`.
 */
async function rollout(
  p: ClusterUpgradePorts,
  input: ClusterUpgradeInput,
  correlationId: string,
  signal: AbortSignal,
): Promise<UpgradeOutcome> {
  const api = await p.driver.api(input.clusterId);
  for (;;) {
    if (signal.aborted) throw new Error('the rollout was stopped');
    const loaded = await p.executor.load(upgradeDecider, input.upgradeId);
    if (loaded.state.status === 'finished') return loaded.state.outcome as UpgradeOutcome;
    let changed = false;
    for (const planned of planUpgrade(loaded.state, new Date())) {
      if (signal.aborted) throw new Error('the rollout was stopped');
      const current = await p.executor.load(upgradeDecider, input.upgradeId);
      const action = planUpgrade(current.state, new Date()).find(
        (a) => actionKey(a) === actionKey(planned),
      );
      if (!action) continue;
      const result = await perform(p, api, input.clusterId, action);
      const recorded = await p.executor.execute(
        upgradeDecider,
        input.upgradeId,
        { type: 'RecordUpgradeStep', action, result, now: new Date() },
        sagaCommandContext(
          CLUSTER_UPGRADE_SAGA,
          input.upgradeId,
          `step/${current.revision}/${actionKey(action)}`,
          { tenantId: input.tenantId, correlationId },
        ),
        20,
      );
      if (recorded.events.length > 0) {
        changed = true;
        await p.onStep?.(action, recorded.state);
      }
    }
    if (!changed) await sleep(p.pollMs ?? 2000, signal);
  }
}

async function nodesAfter(p: ClusterUpgradePorts, clusterId: string): Promise<ClusterNode[]> {
  const api = await p.driver.api(clusterId);
  return (await api.listNodes()).map((n) => ({
    name: n.name,
    role: n.role,
    version: n.kubeletVersion ?? 'unknown',
  }));
}

/**
 * The cluster upgrade (`saga_cluster_upgrade-<upgradeId>`), started by `POST /clusters/:id/upgrade`
 * once the cluster records `upgrading`. Its steps: `start_rollout` (the upgrade stream, with the
 * nodes as the API lists them), `rollout` (the pure plan of src/clusters/domain/upgrade.ts driven
 * against the cluster; its compensation uncordons every node the upgrade still holds), and
 * `record_outcome` (`running` or `upgrade_failed` on the cluster, with its nodes' versions).
 */
export function clusterUpgradeSaga(p: ClusterUpgradePorts): SagaDefinition<ClusterUpgradeInput> {
  const saga = CLUSTER_UPGRADE_SAGA;
  return defineSaga<ClusterUpgradeInput, UpgradeResults>({
    name: saga,
    startedBy: {
      ClusterUpgradeStarted: onStreamOf(CLUSTER_CATEGORY, (clusterId, tenantId, event) => {
        const { upgradeId } = event.data as { upgradeId: string };
        return { sagaId: upgradeId, input: { clusterId, tenantId, upgradeId } };
      }),
    },
    retry: { maxAttempts: 20, initialDelayMs: 500, maxDelayMs: 30_000 },
    compensationRetry: { maxAttempts: 20, initialDelayMs: 500, maxDelayMs: 30_000 },
    stepTimeoutMs: 10 * 60_000,
    maxInterruptions: 50,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const cluster = await loadCluster(p.executor, input.clusterId);
          const nodes = await nodesAfter(p, input.clusterId).catch(() => cluster.nodes);
          const upgrade = (await p.executor.load(upgradeDecider, input.upgradeId)).state;
          const controlPlaneUpgraded = upgrade.controlPlane.stage === 'upgraded';
          await recordCluster(
            p.executor,
            saga,
            input,
            `finished/${input.upgradeId}`,
            correlationId,
            {
              type: 'RecordUpgradeFinished',
              upgradeId: input.upgradeId,
              outcome: 'failed',
              version: controlPlaneUpgraded ? upgrade.toVersion : cluster.version,
              nodes,
              message: 'the upgrade stopped on an error; every node it had cordoned was uncordoned',
              now: new Date(),
            },
          );
        },
      },
      {
        name: 'start_rollout',
        async execute({ input, correlationId }) {
          const cluster = await loadCluster(p.executor, input.clusterId);
          const existing = (await p.executor.load(upgradeDecider, input.upgradeId)).state;
          if (existing.status !== 'none') return { workers: existing.order.length };
          if (cluster.status !== 'upgrading' || cluster.upgradeId !== input.upgradeId) {
            throw new PermanentSagaError(`the cluster is ${cluster.status}; nothing to upgrade`);
          }
          const nodes = await (await p.driver.api(input.clusterId)).listNodes();
          const started = cluster.upgradeTarget;
          if (!started) throw new PermanentSagaError('the upgrade was not recorded on the cluster');
          const { state } = await p.executor.execute(
            upgradeDecider,
            input.upgradeId,
            {
              type: 'StartRollout',
              upgradeId: input.upgradeId,
              clusterId: input.clusterId,
              tenantId: input.tenantId,
              fromVersion: cluster.version,
              toVersion: started.toVersion,
              options: started.options,
              controlPlaneNodes: nodes.filter((n) => n.role === 'control-plane').map((n) => n.name),
              workers: nodes.filter((n) => n.role === 'worker').map((n) => n.name),
              now: new Date(),
            },
            sagaCommandContext(saga, input.upgradeId, 'start', {
              tenantId: input.tenantId,
              correlationId,
            }),
            10,
          );
          return { workers: state.order.length };
        },
      },
      {
        name: 'rollout',
        timeoutMs: 24 * 3600_000,
        async execute({ input, correlationId, signal }) {
          return { outcome: await rollout(p, input, correlationId, signal) };
        },
        async compensate({ input }) {
          const upgrade = (await p.executor.load(upgradeDecider, input.upgradeId)).state;
          const api = await p.driver.api(input.clusterId);
          for (const name of cordonedNodes(upgrade)) {
            if (upgrade.nodes[name].cordonedByUs) await api.setUnschedulable(name, false);
          }
        },
      },
      {
        name: 'record_outcome',
        async execute({ input, correlationId }) {
          const upgrade = (await p.executor.load(upgradeDecider, input.upgradeId)).state;
          const cluster = await loadCluster(p.executor, input.clusterId);
          const outcome = upgrade.outcome as UpgradeOutcome;
          const failed = upgrade.order.filter((n) => upgrade.nodes[n].stage === 'failed');
          await recordCluster(
            p.executor,
            saga,
            input,
            `finished/${input.upgradeId}`,
            correlationId,
            {
              type: 'RecordUpgradeFinished',
              upgradeId: input.upgradeId,
              outcome,
              version:
                upgrade.controlPlane.stage === 'upgraded' ? upgrade.toVersion : cluster.version,
              nodes: await nodesAfter(p, input.clusterId).catch(() => cluster.nodes),
              message:
                upgrade.controlPlane.stage === 'rolled_back'
                  ? `control plane upgrade failed and was rolled back: ${upgrade.controlPlane.error}`
                  : failed.length > 0
                    ? `${failed.length} node(s) failed: ${failed
                        .map((n) => `${n} (${upgrade.nodes[n].failure?.reason})`)
                        .join(', ')}`
                    : null,
              now: new Date(),
            },
          );
          return null;
        },
      },
    ],
  });
}
