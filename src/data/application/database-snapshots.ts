import { rm } from 'node:fs/promises';
import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { DATABASE_SNAPSHOTS_PROJECTION } from '../../../projections/data';
import {
  DATABASE_SNAPSHOT_SAGA,
  type SnapshotSagaInput,
} from '../../../sagas/database-provision/database-snapshot.saga';
import { snapshotFile } from '../../../sagas/database-provision/snapshot-files';
import { SagaLauncher } from '../../../sagas/runtime/sagas.module';
import { uuidV5 } from '../../common/ids';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { AppError } from '../../common/errors/app-error';
import { snapshotDecider, sqlDatabaseOf } from '../domain';
import { DATABASE_SNAPSHOT_DIR } from '../ports/engines';
import { ownedDatabase } from './databases';

export interface SnapshotChanged {
  snapshotId: string;
}

export class CreateDatabaseSnapshot extends UseCaseCommand<SnapshotChanged> {
  constructor(
    readonly databaseId: string,
    readonly name: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

export class DeleteDatabaseSnapshot extends UseCaseCommand<SnapshotChanged> {
  constructor(
    readonly snapshotId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateDatabaseSnapshot)
export class CreateDatabaseSnapshotHandler extends UseCaseHandler<
  CreateDatabaseSnapshot,
  SnapshotChanged
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({
    databaseId,
    name,
    ctx,
  }: CreateDatabaseSnapshot): Promise<Handled<SnapshotChanged>> {
    const tenantId = tenantOf(ctx);
    const state = await ownedDatabase(this.executor, tenantId, databaseId);
    const snapshotId = uuidV5(`database-snapshot/${ctx.commandId}`);
    const result = await this.executor.execute(
      snapshotDecider,
      snapshotId,
      {
        type: 'CreateDatabaseSnapshot',
        snapshotId,
        tenantId,
        name,
        source: { databaseId, state, sqlDatabase: sqlDatabaseOf(state) },
        now: ctx.now,
      },
      ctx,
    );
    await this.sagas.start(
      DATABASE_SNAPSHOT_SAGA,
      snapshotId,
      { snapshotId, tenantId } satisfies SnapshotSagaInput,
      { tenantId, correlationId: ctx.correlationId, requestId: ctx.requestId },
    );
    return {
      result: { snapshotId },
      written: [written(result.position, DATABASE_SNAPSHOTS_PROJECTION)],
    };
  }
}

@CommandHandler(DeleteDatabaseSnapshot)
export class DeleteDatabaseSnapshotHandler extends UseCaseHandler<
  DeleteDatabaseSnapshot,
  SnapshotChanged
> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(DATABASE_SNAPSHOT_DIR) private readonly snapshotDir: string,
  ) {
    super();
  }

  protected async handle({
    snapshotId,
    ctx,
  }: DeleteDatabaseSnapshot): Promise<Handled<SnapshotChanged>> {
    const tenantId = tenantOf(ctx);
    const { state } = await this.executor.load(snapshotDecider, snapshotId);
    if (state.tenantId !== tenantId) throw AppError.notFound('database_snapshot', snapshotId);
    const result = await this.executor.execute(
      snapshotDecider,
      snapshotId,
      { type: 'DeleteDatabaseSnapshot', now: ctx.now },
      ctx,
    );
    // Recorded first: a crash before the removal leaves a file no snapshot names (a repeated
    // delete removes it), never a snapshot without its file.
    const file = snapshotFile(this.snapshotDir, snapshotId);
    await rm(`${file}.partial`, { force: true });
    await rm(file, { force: true });
    return {
      result: { snapshotId },
      written: [written(result.position, DATABASE_SNAPSHOTS_PROJECTION)],
    };
  }
}

export const DATABASE_SNAPSHOT_USE_CASES = [
  CreateDatabaseSnapshotHandler,
  DeleteDatabaseSnapshotHandler,
];
