import { Controller, Delete, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CallerTenant } from '../../platform/http/caller';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AppError } from '../../common/errors/app-error';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { AccessKeyQueries, CreateAccessKey, DeleteAccessKey } from '../application/access-keys';
import { AccessKeyResponse, CreatedAccessKeyResponse, StorageDeletedResponse } from './dto';
import { StorageAction } from './storage-http';

/**
 * S3 access keys: the credentials of the S3-compatible endpoint (`NIMBUS_S3_PORT`). A key acts
 * in the tenant it was created in, with the IAM permissions of the user who created it.
 */
@ApiTags('storage')
@Controller('storage/access-keys')
export class AccessKeysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: AccessKeyQueries,
  ) {}

  @Post()
  @StorageAction('storage:createAccessKey', 'Create an S3 access key')
  @ApiOperationFor({
    id: 'createS3AccessKey',
    summary:
      'Create an S3 access key for the S3-compatible endpoint; the secret is in this answer only',
    response: CreatedAccessKeyResponse,
    status: 201,
    errors: ['validation_error'],
  })
  async create(
    @CallerTenant() _tenantId: string,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const userId = request.auth?.userId;
    if (!userId) throw new AppError('forbidden', 'an S3 access key is created by a user');
    const { result } = await this.commands.execute(new CreateAccessKey(userId, ctx));
    void reply.status(201).header('cache-control', 'no-store');
    return {
      id: result.id,
      access_key_id: result.accessKeyId,
      secret_access_key: result.secret,
      user_id: userId,
      created_at: result.createdAt,
    };
  }

  @Get()
  @StorageAction('storage:listAccessKeys', 'List S3 access keys')
  @ApiOperationFor({
    id: 'listS3AccessKeys',
    summary: "The tenant's S3 access keys, oldest first (never their secrets)",
    response: AccessKeyResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.list(tenantId, parsePage(query));
  }

  @Delete(':id')
  @StorageAction('storage:deleteAccessKey', 'Delete an S3 access key')
  @ApiOperationFor({
    id: 'deleteS3AccessKey',
    summary: 'Delete an S3 access key; requests signed with it fail from now on',
    response: StorageDeletedResponse,
    errors: ['not_found'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new DeleteAccessKey(id, ctx));
    return { message: 'access key deleted', id };
  }
}
