import { CommandHandler } from '@nestjs/cqrs';
import { Inject } from '@nestjs/common';

import { CLUSTER_BACKUPS_PROJECTION } from '../../../../projections/clusters';
import {
  CLUSTER_BACKUP_DELETE_SAGA,
  CLUSTER_BACKUP_SAGA,
  type BackupSagaInput,
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
import { backupDecider, type ClusterStatus } from '../../domain';
import { CLUSTER_DRIVER, type ClusterDriver } from '../../ports/kubernetes';
import { ClusterQueries } from '../cluster-queries';

export interface BackupChanged {
  clusterId: string;
  backupId: string;
}

/** States in which the cluster's etcd runs and can be snapshotted. */
const BACKUP_FROM: readonly ClusterStatus[] = [
  'running',
  'scaling',
  'repairing',
  'upgrading',
  'upgrade_failed',
];

/**
 * POST /clusters/:id/backups: the caller's cluster (404), its etcd running (409 while it is
 * pending, provisioning, failed, restoring or deleting; 503 on an installation without etcd),
 * recorded `creating`, then the backup saga takes the snapshot.
 */
export class CreateClusterBackup extends UseCaseCommand<BackupChanged> {
  constructor(
    readonly clusterId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** DELETE /clusters/:id/backups/:backupId: `deleting`, then the file and `deleted`. */
export class DeleteClusterBackup extends UseCaseCommand<BackupChanged> {
  constructor(
    readonly clusterId: string,
    readonly backupId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateClusterBackup)
export class CreateClusterBackupHandler extends UseCaseHandler<CreateClusterBackup, BackupChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ClusterQueries,
    private readonly sagas: SagaLauncher,
    @Inject(CLUSTER_DRIVER) private readonly driver: ClusterDriver,
  ) {
    super();
  }

  protected async handle({ clusterId, ctx }: CreateClusterBackup): Promise<Handled<BackupChanged>> {
    const tenantId = tenantOf(ctx);
    const cluster = await this.queries.owned(tenantId, clusterId);
    if (!this.driver.etcd) {
      throw new AppError(
        'service_unavailable',
        'this installation runs no etcd for clusters (it needs the real Docker driver)',
      );
    }
    if (!BACKUP_FROM.includes(cluster.status as ClusterStatus)) {
      throw AppError.invalidState(
        `cluster ${clusterId} is ${cluster.status}; a backup needs its etcd running (${BACKUP_FROM.join(', ')})`,
        { resource: 'cluster', id: clusterId, status: cluster.status },
      );
    }
    const backupId = uuidV5(`cluster-backup/${ctx.commandId}`);
    const result = await this.executor.execute(
      backupDecider,
      backupId,
      { type: 'RequestBackup', backupId, clusterId, tenantId, now: ctx.now },
      ctx,
      { expectNew: true },
    );
    const input: BackupSagaInput = { backupId, clusterId, tenantId };
    await this.sagas.start(CLUSTER_BACKUP_SAGA, backupId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return {
      result: { clusterId, backupId },
      written: [written(result.position, CLUSTER_BACKUPS_PROJECTION)],
    };
  }
}

@CommandHandler(DeleteClusterBackup)
export class DeleteClusterBackupHandler extends UseCaseHandler<DeleteClusterBackup, BackupChanged> {
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
  }: DeleteClusterBackup): Promise<Handled<BackupChanged>> {
    const tenantId = tenantOf(ctx);
    const cluster = await this.queries.owned(tenantId, clusterId);
    if (!isUuid(backupId)) throw AppError.notFound('cluster_backup', backupId);
    await this.queries.ownedBackup(tenantId, clusterId, backupId);
    if (cluster.restore?.backupId === backupId) {
      throw AppError.invalidState(`backup ${backupId} is being restored; delete it afterwards`, {
        resource: 'cluster_backup',
        id: backupId,
        status: 'restoring',
      });
    }
    const result = await this.executor.execute(
      backupDecider,
      backupId,
      { type: 'DeleteBackup', now: ctx.now },
      ctx,
    );
    const input: BackupSagaInput = { backupId, clusterId, tenantId };
    await this.sagas.start(CLUSTER_BACKUP_DELETE_SAGA, backupId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return {
      result: { clusterId, backupId },
      written: [written(result.position, CLUSTER_BACKUPS_PROJECTION)],
    };
  }
}
