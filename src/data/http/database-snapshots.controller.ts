import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { afterWrite } from '../../platform/http/after-write';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { CallerTenant } from '../../platform/http/caller';
import { DataQueries } from '../application/data-queries';
import { CreateDatabase } from '../application/databases';
import { CreateDatabaseSnapshot, DeleteDatabaseSnapshot } from '../application/database-snapshots';
import { DataAction } from './data-http';
import {
  CreateDatabaseSnapshotDto,
  DatabaseMessageResponse,
  DatabaseResponse,
  DatabaseSnapshotResponse,
  RestoreDatabaseSnapshotDto,
} from './databases.dto';

const DB = { type: 'database' as const, param: 'id' };
const SNAPSHOT = { type: 'database-snapshot' as const, param: 'id' };

/**
 * Database snapshots: a logical copy (pg_dump -Fc) of a RUNNING database, kept after the database
 * is deleted, restored into a new database.
 */
@ApiTags('databases')
@Controller()
export class DatabaseSnapshotsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: DataQueries,
  ) {}

  @Post('databases/:id/snapshots')
  @HttpCode(202)
  @DataAction('database:createSnapshot', 'Take a snapshot of a database', DB)
  @ApiOperationFor({
    id: 'createDatabaseSnapshot',
    summary:
      'A logical snapshot (pg_dump -Fc) of a RUNNING database: 202 creating, then available with its size and SHA-256 (or failed). Not RUNNING: 409',
    status: 202,
    response: DatabaseSnapshotResponse,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: CreateDatabaseSnapshotDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateDatabaseSnapshot(id, body.name, ctx));
    const { snapshotId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/database-snapshots/${snapshotId}`,
      status: 202,
      read: () => this.queries.databaseSnapshot(tenantId, snapshotId),
      id: snapshotId,
      accepted: { status: 'creating' },
    });
  }

  @Get('databases/:id/snapshots')
  @DataAction('database:listSnapshots', "List a database's snapshots", DB)
  @ApiOperationFor({
    id: 'listDatabaseSnapshots',
    summary:
      "A database's snapshots, oldest first (cursor pagination); also after the database was deleted",
    response: DatabaseSnapshotResponse,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  list(@CallerTenant() tenantId: string, @Param('id') id: string, @Query() query: PageQuery) {
    return this.queries.databaseSnapshots(tenantId, id, parsePage(query));
  }

  @Get('database-snapshots/:id')
  @DataAction('database:getSnapshot', 'Describe a database snapshot', SNAPSHOT)
  @ApiOperationFor({
    id: 'getDatabaseSnapshot',
    summary: 'Describe a database snapshot',
    response: DatabaseSnapshotResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.databaseSnapshot(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete('database-snapshots/:id')
  @HttpCode(200)
  @DataAction('database:deleteSnapshot', 'Delete a database snapshot', SNAPSHOT)
  @ApiOperationFor({
    id: 'deleteDatabaseSnapshot',
    summary: 'Delete a snapshot and its file. Still being taken: 409',
    response: DatabaseMessageResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async delete(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.queries.databaseSnapshot(tenantId, id);
    await this.commands.execute(new DeleteDatabaseSnapshot(id, ctx));
    return { message: 'database snapshot deleted', id };
  }

  @Post('database-snapshots/:id/restore')
  @HttpCode(202)
  @DataAction('database:restoreSnapshot', 'Restore a snapshot into a new database', SNAPSHOT)
  @ApiOperationFor({
    id: 'restoreDatabaseSnapshot',
    summary:
      "A new database with the snapshot's data: 202 CREATING, then RUNNING (its file's SHA-256 checked, pg_restore). Engine, version and defaults from the snapshot; storage at least the source's (400); not available: 409",
    status: 202,
    response: DatabaseResponse,
    errors: ['validation_error', 'not_found', 'invalid_state', 'quota_exceeded'],
  })
  async restore(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: RestoreDatabaseSnapshotDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const snapshot = (await this.queries.databaseSnapshot(tenantId, id)).view;
    const outcome = await this.commands.execute(
      new CreateDatabase(
        {
          name: body.name,
          engine: snapshot.engine,
          version: snapshot.version,
          settings: {
            allocatedStorageGb: body.allocated_storage ?? snapshot.allocated_storage,
            poolingEnabled: body.pooling_enabled ?? snapshot.pooling_enabled,
            metricsEnabled: body.metrics_enabled ?? snapshot.metrics_enabled,
            parameters: snapshot.parameters,
          },
          fromSnapshotId: id,
        },
        ctx,
      ),
    );
    const { databaseId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/databases/${databaseId}`,
      status: 202,
      read: () => this.queries.database(tenantId, databaseId),
      id: databaseId,
      accepted: { status: 'CREATING' },
    });
  }
}
