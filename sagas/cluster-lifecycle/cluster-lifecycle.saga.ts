import { AppError } from '../../src/common/errors/app-error';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import {
  clusterDecider,
  type ClusterCommand,
  type ClusterState,
} from '../../src/clusters/domain/cluster';
import type { ClusterDriver, ClusterSpec } from '../../src/clusters/ports/kubernetes';
import {
  defineSaga,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
  lastStepFailure,
} from '../runtime/definition';
import { CLUSTER_CATEGORY } from '../../src/clusters/domain/cluster';

export const CLUSTER_PROVISION_SAGA = 'cluster_provision';
export const CLUSTER_DELETE_SAGA = 'cluster_delete';
export const CLUSTER_OPERATION_SAGA = 'cluster_operation';

export interface ClusterSagaInput {
  clusterId: string;
  tenantId: string;
}

export interface ClusterOperationInput extends ClusterSagaInput {
  operationId: string;
  kind: 'scale' | 'repair';
}

/** The cluster an event of its stream concerns: the saga instance it starts. */
const clusterOfEvent = onStreamOf<ClusterSagaInput>(CLUSTER_CATEGORY, (clusterId, tenantId) => ({
  sagaId: clusterId,
  input: { clusterId, tenantId },
}));

/** A scale or repair the event requested: the operation's saga instance. */
const operationOfEvent = (kind: ClusterOperationInput['kind']) =>
  onStreamOf<ClusterOperationInput>(CLUSTER_CATEGORY, (clusterId, tenantId, event) => {
    const { operationId } = event.data as { operationId: string };
    return { sagaId: operationId, input: { clusterId, tenantId, operationId, kind } };
  });

/** What the cluster lifecycle sagas need; the clusters module provides them. */
export interface ClusterLifecyclePorts {
  executor: CommandExecutor;
  store: EventStore;
  driver: ClusterDriver;
  /** Gives back the `clusters` quota the create handler reserved. */
  releaseQuota(tenantId: string, clusterId: string): Promise<unknown>;
}

export async function loadCluster(
  executor: CommandExecutor,
  clusterId: string,
): Promise<ClusterState> {
  const { state, exists } = await executor.load(clusterDecider, clusterId);
  if (!exists) throw new PermanentSagaError(`cluster ${clusterId} does not exist`);
  return state;
}

export function specOf(state: ClusterState): ClusterSpec {
  return {
    clusterId: state.clusterId as string,
    tenantId: state.tenantId as string,
    name: state.name,
    vpcId: state.vpcId as string,
    subnetId: state.subnetId,
    version: state.version,
    workers: state.workers,
    ha: state.ha,
  };
}

export async function recordCluster(
  executor: CommandExecutor,
  saga: string,
  input: ClusterSagaInput,
  purpose: string,
  correlationId: string,
  command: ClusterCommand,
): Promise<ClusterState> {
  const { state } = await executor.execute(
    clusterDecider,
    input.clusterId,
    command,
    sagaCommandContext(saga, input.clusterId, purpose, {
      tenantId: input.tenantId,
      correlationId,
    }),
    10,
  );
  return state;
}

function stillProvisioning(state: ClusterState): void {
  if (state.status !== 'pending' && state.status !== 'provisioning' && state.status !== 'running') {
    throw new PermanentSagaError(`the cluster is ${state.status}; provisioning stopped`);
  }
}

interface ProvisionResults extends Record<string, unknown> {
  begin: null;
  mark_provisioning: null;
  provision: { endpoint: string; nodes: number };
  record_running: null;
}

/**
 * Provisioning of one cluster (`saga_cluster_provision-<clusterId>`), started by the create
 * handler once `pending` is recorded: `provisioning`, the driver builds the control plane and the
 * workers (idempotent, named by the cluster id), `running`. A failure destroys what was built and
 * records `failed` with the error; a delete that started meanwhile does the same.
 */
export function clusterProvisionSaga(p: ClusterLifecyclePorts): SagaDefinition<ClusterSagaInput> {
  const saga = CLUSTER_PROVISION_SAGA;
  return defineSaga<ClusterSagaInput, ProvisionResults>({
    name: saga,
    startedBy: { ClusterCreated: clusterOfEvent },
    retry: { maxAttempts: 4, initialDelayMs: 500, maxDelayMs: 10_000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 30 * 60_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          await recordCluster(p.executor, saga, input, 'failed', correlationId, {
            type: 'RecordClusterFailed',
            message: await lastStepFailure(p.store, saga, input.clusterId, 'the operation failed'),
            now: new Date(),
          });
        },
      },
      {
        name: 'mark_provisioning',
        async execute({ input, correlationId }) {
          stillProvisioning(await loadCluster(p.executor, input.clusterId));
          await recordCluster(p.executor, saga, input, 'provisioning', correlationId, {
            type: 'RecordProvisioningStarted',
            now: new Date(),
          });
          return null;
        },
      },
      {
        name: 'provision',
        async execute({ input }) {
          const state = await loadCluster(p.executor, input.clusterId);
          stillProvisioning(state);
          const built = await p.driver.provision(specOf(state));
          return { endpoint: built.endpoint, nodes: built.nodes.length };
        },
        async compensate({ input }) {
          await p.driver.destroy(input.clusterId);
        },
      },
      {
        name: 'record_running',
        async execute({ input, correlationId }) {
          const cluster = await loadCluster(p.executor, input.clusterId);
          const built = await p.driver.provision(specOf(cluster));
          const state = await recordCluster(p.executor, saga, input, 'running', correlationId, {
            type: 'RecordProvisioned',
            endpoint: built.endpoint,
            nodes: built.nodes,
            now: new Date(),
          });
          if (state.status !== 'running' && state.status !== 'upgrading') {
            throw new PermanentSagaError(`the cluster is ${state.status}; provisioning undone`);
          }
          return null;
        },
      },
    ],
  });
}

interface DeleteResults extends Record<string, unknown> {
  destroy: null;
  record_deleted: null;
  release_quota: null;
}

/** Teardown (`saga_cluster_delete-<clusterId>`): the machines, then `deleted`, then the quota. */
export function clusterDeleteSaga(p: ClusterLifecyclePorts): SagaDefinition<ClusterSagaInput> {
  const saga = CLUSTER_DELETE_SAGA;
  return defineSaga<ClusterSagaInput, DeleteResults>({
    name: saga,
    startedBy: { ClusterDeletionStarted: clusterOfEvent },
    retry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 30 * 60_000,
    steps: [
      {
        name: 'destroy',
        async execute({ input }) {
          await p.driver.destroy(input.clusterId);
          return null;
        },
      },
      {
        name: 'record_deleted',
        async execute({ input, correlationId }) {
          await recordCluster(p.executor, saga, input, 'deleted', correlationId, {
            type: 'RecordClusterDeleted',
            now: new Date(),
          }).catch((error: unknown) => {
            if (error instanceof AppError && error.code === 'not_found') return null;
            throw error;
          });
          return null;
        },
      },
      {
        name: 'release_quota',
        async execute({ input }) {
          await p.releaseQuota(input.tenantId, input.clusterId);
          return null;
        },
      },
    ],
  });
}

interface OperationResults extends Record<string, unknown> {
  begin: null;
  apply: { nodes: number; repaired: string[] };
}

/**
 * Scale or repair (`saga_cluster_operation-<operationId>`): the driver adds or removes workers,
 * or re-runs the bootstrap on nodes that are not Ready; the cluster records the nodes after. A
 * failure records the operation finished with its error (a failed repair leaves `failed`).
 */
export function clusterOperationSaga(
  p: ClusterLifecyclePorts,
): SagaDefinition<ClusterOperationInput> {
  const saga = CLUSTER_OPERATION_SAGA;
  return defineSaga<ClusterOperationInput, OperationResults>({
    name: saga,
    startedBy: {
      ClusterScaleRequested: operationOfEvent('scale'),
      ClusterRepairRequested: operationOfEvent('repair'),
    },
    retry: { maxAttempts: 4, initialDelayMs: 500, maxDelayMs: 10_000 },
    stepTimeoutMs: 30 * 60_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const cluster = await loadCluster(p.executor, input.clusterId);
          await recordCluster(
            p.executor,
            saga,
            input,
            `failed/${input.operationId}`,
            correlationId,
            {
              type: 'RecordOperationFinished',
              operationId: input.operationId,
              nodes: cluster.nodes,
              repaired: [],
              error: await lastStepFailure(
                p.store,
                saga,
                input.operationId,
                'the operation failed',
              ),
              now: new Date(),
            },
          );
        },
      },
      {
        name: 'apply',
        async execute({ input, correlationId }) {
          const cluster = await loadCluster(p.executor, input.clusterId);
          if (cluster.operation?.id !== input.operationId) return { nodes: 0, repaired: [] };
          const spec = specOf(cluster);
          const outcome =
            input.kind === 'scale'
              ? { nodes: await p.driver.scale(spec, cluster.workers), repaired: [] }
              : await p.driver.repair(spec);
          await recordCluster(p.executor, saga, input, `done/${input.operationId}`, correlationId, {
            type: 'RecordOperationFinished',
            operationId: input.operationId,
            nodes: outcome.nodes,
            repaired: outcome.repaired,
            error: null,
            now: new Date(),
          });
          return { nodes: outcome.nodes.length, repaired: outcome.repaired };
        },
      },
    ],
  });
}
