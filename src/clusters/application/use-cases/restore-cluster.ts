import { CommandHandler } from '@nestjs/cqrs';

import { CLUSTERS_PROJECTION } from '../../../../projections/clusters';
import {
  CLUSTER_RESTORE_SAGA,
  type RestoreSagaInput,
} from '../../../../sagas/cluster-backup/cluster-backup.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
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

/**
 * POST /clusters/:id/restore {backup_id}: the caller's cluster (404) and one of its own backups
 * (another cluster's or tenant's is 404), `available` (409 otherwise); the cluster `running`
 * (409 while an upgrade, a scale, a repair or another restore runs), recorded `restoring`, then
 * the restore saga.
 */
export class RestoreCluster extends UseCaseCommand<ClusterChanged> {
  constructor(
    readonly clusterId: string,
    readonly backupId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RestoreCluster)
export class RestoreClusterHandler extends UseCaseHandler<RestoreCluster, ClusterChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ClusterQueries,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({
    clusterId,
    backupId,
    ctx,
  }: RestoreCluster): Promise<Handled<ClusterChanged>> {
    const tenantId = tenantOf(ctx);
    await this.queries.owned(tenantId, clusterId);
    if (!isUuid(backupId)) throw AppError.notFound('cluster_backup', backupId);
    const backup = await this.queries.ownedBackup(tenantId, clusterId, backupId);
    if (backup.status !== 'available') {
      throw AppError.invalidState(
        `backup ${backupId} is ${backup.status}; only an available backup can be restored`,
        { resource: 'cluster_backup', id: backupId, status: backup.status },
      );
    }
    const restoreId = uuidV5(`cluster-restore/${ctx.commandId}`);
    const result = await this.executor.execute(
      clusterDecider,
      clusterId,
      { type: 'StartRestore', restoreId, backupId, now: ctx.now },
      ctx,
    );
    const input: RestoreSagaInput = { restoreId, backupId, clusterId, tenantId };
    await this.sagas.start(CLUSTER_RESTORE_SAGA, restoreId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { clusterId }, written: [written(result.position, CLUSTERS_PROJECTION)] };
  }
}
