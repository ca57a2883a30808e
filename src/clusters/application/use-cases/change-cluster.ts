import { CommandHandler } from '@nestjs/cqrs';

import { CLUSTERS_PROJECTION } from '../../../../projections/clusters';
import {
  CLUSTER_DELETE_SAGA,
  CLUSTER_OPERATION_SAGA,
  type ClusterOperationInput,
  type ClusterSagaInput,
} from '../../../../sagas/cluster-lifecycle/cluster-lifecycle.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { clusterDecider } from '../../domain';
import { ClusterQueries } from '../cluster-queries';
import type { ClusterChanged } from './create-cluster';

/** DELETE /clusters/:id: `deleting` (409 while an upgrade runs), then the teardown saga. */
export class DeleteCluster extends UseCaseCommand<ClusterChanged> {
  constructor(
    readonly clusterId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** POST /clusters/:id/scale {workers}: from `running` only (409), `scaling` until the saga ends. */
export class ScaleCluster extends UseCaseCommand<ClusterChanged> {
  constructor(
    readonly clusterId: string,
    readonly workers: unknown,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** POST /clusters/:id/repair: re-bootstraps nodes that are not Ready (`repairing`). */
export class RepairCluster extends UseCaseCommand<ClusterChanged> {
  constructor(
    readonly clusterId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteCluster)
export class DeleteClusterHandler extends UseCaseHandler<DeleteCluster, ClusterChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ClusterQueries,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({ clusterId, ctx }: DeleteCluster): Promise<Handled<ClusterChanged>> {
    const tenantId = tenantOf(ctx);
    await this.queries.owned(tenantId, clusterId);
    const result = await this.executor.execute(
      clusterDecider,
      clusterId,
      { type: 'DeleteCluster', now: ctx.now },
      ctx,
    );
    const input: ClusterSagaInput = { clusterId, tenantId };
    await this.sagas.start(CLUSTER_DELETE_SAGA, clusterId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { clusterId }, written: [written(result.position, CLUSTERS_PROJECTION)] };
  }
}

interface OperationDeps {
  executor: CommandExecutor;
  queries: ClusterQueries;
  sagas: SagaLauncher;
}

async function startOperation(
  deps: OperationDeps,
  command: ScaleCluster | RepairCluster,
): Promise<Handled<ClusterChanged>> {
  const { clusterId, ctx } = command;
  const tenantId = tenantOf(ctx);
  await deps.queries.owned(tenantId, clusterId);
  const operationId = uuidV5(`cluster-operation/${ctx.commandId}`);
  const scale = command instanceof ScaleCluster;
  const result = await deps.executor.execute(
    clusterDecider,
    clusterId,
    scale
      ? { type: 'ScaleCluster', operationId, workers: command.workers, now: ctx.now }
      : { type: 'RepairCluster', operationId, now: ctx.now },
    ctx,
  );
  const input: ClusterOperationInput = {
    clusterId,
    tenantId,
    operationId,
    kind: scale ? 'scale' : 'repair',
  };
  await deps.sagas.start(CLUSTER_OPERATION_SAGA, operationId, input, {
    tenantId,
    correlationId: ctx.correlationId,
    requestId: ctx.requestId,
  });
  return { result: { clusterId }, written: [written(result.position, CLUSTERS_PROJECTION)] };
}

@CommandHandler(ScaleCluster)
export class ScaleClusterHandler extends UseCaseHandler<ScaleCluster, ClusterChanged> {
  constructor(
    readonly executor: CommandExecutor,
    readonly queries: ClusterQueries,
    readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected handle(command: ScaleCluster): Promise<Handled<ClusterChanged>> {
    return startOperation(this, command);
  }
}

@CommandHandler(RepairCluster)
export class RepairClusterHandler extends UseCaseHandler<RepairCluster, ClusterChanged> {
  constructor(
    readonly executor: CommandExecutor,
    readonly queries: ClusterQueries,
    readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected handle(command: RepairCluster): Promise<Handled<ClusterChanged>> {
    return startOperation(this, command);
  }
}
