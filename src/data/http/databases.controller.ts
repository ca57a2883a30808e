import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
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
import {
  ActOnDatabase,
  CreateDatabase,
  CreateReplica,
  PromoteDatabase,
  DatabaseAccess,
  DeleteDatabase,
  ModifyDatabase,
} from '../application/databases';
import { DataAction } from './data-http';
import {
  CreateDatabaseDto,
  CreateReplicaDto,
  DatabaseReplicationResponse,
  DatabaseConnectionResponse,
  DatabaseDeletionResponse,
  DatabaseMessageResponse,
  DatabaseResponse,
  DeleteDatabaseQuery,
  ModifyDatabaseDto,
} from './databases.dto';

const DB = { type: 'database' as const, param: 'id' };
const DBS = { type: 'database' as const };

@ApiTags('databases')
@Controller('databases')
export class DatabasesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: DataQueries,
    private readonly access: DatabaseAccess,
  ) {}

  @Get()
  @DataAction('database:list', "List the tenant's databases", DBS)
  @ApiOperationFor({
    id: 'listDatabases',
    summary: "The tenant's databases, oldest first (cursor pagination)",
    response: DatabaseResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.databases(tenantId, parsePage(query));
  }

  @Post()
  @HttpCode(202)
  @DataAction('database:create', 'Provision a PostgreSQL database', DBS)
  @ApiOperationFor({
    id: 'createDatabase',
    summary:
      'Provision a PostgreSQL primary: 202 CREATING, then RUNNING once it accepts connections. Unknown engine or version, parameters outside the allow-list: 400',
    status: 202,
    response: DatabaseResponse,
    errors: ['validation_error', 'quota_exceeded'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateDatabaseDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(
      new CreateDatabase(
        {
          name: body.name,
          engine: body.engine,
          version: body.version,
          settings: {
            allocatedStorageGb: body.allocated_storage,
            poolingEnabled: body.pooling_enabled ?? false,
            metricsEnabled: body.metrics_enabled ?? false,
            parameters: body.parameters ?? {},
          },
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

  @Get(':id')
  @DataAction('database:get', 'Describe a database', DB)
  @ApiOperationFor({
    id: 'getDatabase',
    summary: 'Describe a database',
    response: DatabaseResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.database(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Patch(':id')
  @DataAction('database:modify', 'Modify a database', DB)
  @ApiOperationFor({
    id: 'modifyDatabase',
    summary:
      'Grow storage, toggle pooling and metrics, set allow-listed parameters (reload or restart). Shrinking or a parameter outside the list: 400; not RUNNING: 409',
    response: DatabaseResponse,
    errors: ['validation_error', 'not_found', 'invalid_state', 'quota_exceeded'],
  })
  async modify(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: ModifyDatabaseDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(
      new ModifyDatabase(
        id,
        {
          allocatedStorageGb: body.allocated_storage,
          poolingEnabled: body.pooling_enabled,
          metricsEnabled: body.metrics_enabled,
          parameters: body.parameters,
        },
        ctx,
      ),
    );
    return afterWrite({
      reply,
      outcome,
      location: `/databases/${id}`,
      status: 200,
      read: () => this.queries.database(tenantId, id),
      id,
    });
  }

  @Get(':id/connection')
  @DataAction('database:connect', "A database's connection string, with its password", DB)
  @ApiOperationFor({
    id: 'getDatabaseConnection',
    summary:
      'A connection string psql accepts (through pgbouncer when pooling is on). Not RUNNING: 409',
    response: DatabaseConnectionResponse,
    errors: ['not_found', 'invalid_state'],
  })
  connection(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.access.connection(tenantId, id);
  }

  @Post(':id/stop')
  @HttpCode(200)
  @DataAction('database:stop', 'Stop a database (its volume is kept)', DB)
  @ApiOperationFor({
    id: 'stopDatabase',
    summary:
      'Stop the server and its pooler; the data volume stays. A replica, CREATING or DELETING: 409',
    response: DatabaseMessageResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async stop(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new ActOnDatabase(id, 'stop', ctx));
    return { message: 'database stopped', id };
  }

  @Post(':id/start')
  @HttpCode(200)
  @DataAction('database:start', 'Start a stopped database', DB)
  @ApiOperationFor({
    id: 'startDatabase',
    summary: 'Start a STOPPED database and wait until it accepts connections (else 409)',
    response: DatabaseMessageResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async start(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new ActOnDatabase(id, 'start', ctx));
    return { message: 'database started', id };
  }

  @Post(':id/rotate-credentials')
  @HttpCode(200)
  @DataAction('database:rotateCredentials', "Replace a database's password", DB)
  @ApiOperationFor({
    id: 'rotateDatabaseCredentials',
    summary:
      'A new password in the engine, pgbouncer and the secrets store; the old one stops working',
    response: DatabaseMessageResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async rotate(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new ActOnDatabase(id, 'rotate', ctx));
    return { message: 'database credentials rotated successfully', id };
  }

  @Post(':id/replicas')
  @HttpCode(202)
  @DataAction('database:createReplica', 'Make a streaming read replica of a database', DB)
  @ApiOperationFor({
    id: 'createDatabaseReplica',
    summary:
      'A read-only streaming replica (pg_basebackup through a physical slot): 202 CREATING, then RUNNING. The source a replica or not RUNNING: 409',
    status: 202,
    response: DatabaseResponse,
    errors: ['validation_error', 'not_found', 'invalid_state', 'quota_exceeded'],
  })
  async createReplica(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: CreateReplicaDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateReplica(id, body.name, ctx));
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

  @Post(':id/promote')
  @HttpCode(200)
  @DataAction('database:promote', 'Promote a replica to a standalone primary', DB)
  @ApiOperationFor({
    id: 'promoteDatabase',
    summary:
      'pg_promote() on a RUNNING replica, its slot dropped on the old primary: it accepts writes. A primary: 409 invalid_state',
    response: DatabaseResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async promote(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new PromoteDatabase(id, ctx));
    return afterWrite({
      reply,
      outcome,
      location: `/databases/${id}`,
      status: 200,
      read: () => this.queries.database(tenantId, id),
      id,
    });
  }

  @Get(':id/replication')
  @DataAction('database:get', 'Describe a database', DB)
  @ApiOperationFor({
    id: 'getDatabaseReplication',
    summary:
      "Role, primary and, for a RUNNING replica, its lag read live from the primary's pg_stat_replication",
    response: DatabaseReplicationResponse,
    errors: ['not_found'],
  })
  replication(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.access.replication(tenantId, id);
  }

  @Delete(':id')
  @HttpCode(202)
  @DataAction('database:delete', 'Delete a database', DB)
  @ApiOperationFor({
    id: 'deleteDatabase',
    summary:
      "DELETING, then gone: containers, data volume and password removed (a replica's slot on its primary too). With final_snapshot_name a snapshot is taken first (RUNNING only, else 409); if it fails the database is RUNNING again and the snapshot failed. A primary with replicas: 409 dependency_violation",
    status: 202,
    response: DatabaseDeletionResponse,
    errors: ['validation_error', 'not_found', 'invalid_state', 'dependency_violation'],
  })
  async delete(
    @Param('id') id: string,
    @Query() query: DeleteDatabaseQuery,
    @Ctx() ctx: CommandContext,
  ): Promise<DatabaseDeletionResponse> {
    const { result } = await this.commands.execute(
      new DeleteDatabase(id, ctx, query.final_snapshot_name),
    );
    return {
      message: 'database deletion started',
      id,
      final_snapshot_id: result.finalSnapshotId,
    };
  }
}
