import { CommandHandler } from '@nestjs/cqrs';

import { CLUSTERS_PROJECTION } from '../../../../projections/clusters';
import {
  CLUSTER_UPGRADE_SAGA,
  type ClusterUpgradeInput,
} from '../../../../sagas/cluster-upgrade/cluster-upgrade.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
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
import { clusterDecider, upgradeDecider, type UpgradeOptions } from '../../domain';
import { ClusterQueries } from '../cluster-queries';

export interface UpgradeStarted {
  clusterId: string;
  upgradeId: string;
}

/**
 * POST /clusters/:id/upgrade {version, ...}: from `running` only (409), one minor version at a
 * time (400); recorded `upgrading` on the cluster, then the upgrade saga rolls it out.
 */
export class UpgradeCluster extends UseCaseCommand<UpgradeStarted> {
  constructor(
    readonly clusterId: string,
    readonly version: unknown,
    readonly options: UpgradeOptions,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** POST /clusters/:id/upgrade/cancel: the rollout stops after the node in flight. */
export class CancelClusterUpgrade extends UseCaseCommand<UpgradeStarted> {
  constructor(
    readonly clusterId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(UpgradeCluster)
export class UpgradeClusterHandler extends UseCaseHandler<UpgradeCluster, UpgradeStarted> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ClusterQueries,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle(command: UpgradeCluster): Promise<Handled<UpgradeStarted>> {
    const { clusterId, ctx } = command;
    const tenantId = tenantOf(ctx);
    await this.queries.owned(tenantId, clusterId);
    const upgradeId = uuidV5(`cluster-upgrade/${ctx.commandId}`);
    const result = await this.executor.execute(
      clusterDecider,
      clusterId,
      {
        type: 'StartUpgrade',
        upgradeId,
        version: command.version,
        options: command.options,
        now: ctx.now,
      },
      ctx,
    );
    const input: ClusterUpgradeInput = { clusterId, tenantId, upgradeId };
    await this.sagas.start(CLUSTER_UPGRADE_SAGA, upgradeId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return {
      result: { clusterId, upgradeId },
      written: [written(result.position, CLUSTERS_PROJECTION)],
    };
  }
}

@CommandHandler(CancelClusterUpgrade)
export class CancelClusterUpgradeHandler extends UseCaseHandler<
  CancelClusterUpgrade,
  UpgradeStarted
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ClusterQueries,
  ) {
    super();
  }

  protected async handle({
    clusterId,
    ctx,
  }: CancelClusterUpgrade): Promise<Handled<UpgradeStarted>> {
    const tenantId = tenantOf(ctx);
    const cluster = await this.queries.owned(tenantId, clusterId);
    if (cluster.status !== 'upgrading' || !cluster.upgradeId) {
      throw AppError.invalidState(`cluster ${clusterId} is ${cluster.status}; no upgrade runs`, {
        resource: 'cluster',
        id: clusterId,
        status: cluster.status,
      });
    }
    await this.executor.execute(
      upgradeDecider,
      cluster.upgradeId,
      { type: 'RequestUpgradeCancel', now: ctx.now },
      ctx,
    );
    return { result: { clusterId, upgradeId: cluster.upgradeId }, written: [] };
  }
}
