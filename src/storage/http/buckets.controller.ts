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
import { CallerTenant } from '../../platform/http/caller';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { Inject } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';

import { setEtag } from '../../common/etag';
import { AppError } from '../../common/errors/app-error';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { PG_POOL } from '../../platform/tokens';
import {
  AddLifecycleRule,
  CreateBucket,
  DeleteBucket,
  RemoveLifecycleRule,
  SetBucketVersioning,
} from '../application/buckets';
import { StorageQueries } from '../application/storage-queries';
import { lifecycleRuleView } from '../application/views';
import { BLOB_STORE, type BlobStore } from '../ports/blob-store';
import {
  BucketResponse,
  ClusterStatusResponse,
  CreateBucketDto,
  DeleteBucketQuery,
  StorageDeletedResponse,
  LifecycleRuleDto,
  LifecycleRuleResponse,
  VersioningDto,
} from './dto';
import { StorageAction } from './storage-http';

@ApiTags('storage')
@Controller('storage')
export class BucketsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: StorageQueries,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  private async bucketAnswer(reply: FastifyReply, tenantId: string, name: string) {
    const found = await this.queries.readableBucket(name, tenantId);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Get('buckets')
  @StorageAction('storage:listBuckets', 'List buckets')
  @ApiOperationFor({
    id: 'listBuckets',
    summary: "The tenant's buckets, oldest first (cursor pagination)",
    response: BucketResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.buckets(tenantId, parsePage(query));
  }

  @Post('buckets')
  @StorageAction('storage:createBucket', 'Create a bucket')
  @ApiOperationFor({
    id: 'createBucket',
    summary:
      'Create a bucket; names are unique across all tenants (another tenant has it: 409 bucket_already_exists; you have it: 409 bucket_already_owned_by_you)',
    response: BucketResponse,
    status: 201,
    errors: ['validation_error', 'bucket_already_exists', 'bucket_already_owned_by_you'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateBucketDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { result } = await this.commands.execute(
      new CreateBucket(body.name, body.is_public ?? false, ctx),
    );
    void reply.status(201).header('location', `/storage/${result.name}`);
    return this.bucketAnswer(reply, tenantId, result.name);
  }

  @Delete('buckets/:bucket')
  @StorageAction('storage:deleteBucket', 'Delete a bucket', 'bucket')
  @ApiOperationFor({
    id: 'deleteBucket',
    summary:
      'Delete a bucket; one holding objects, versions or multipart uploads is 409 bucket_not_empty unless ?force=true',
    response: StorageDeletedResponse,
    errors: ['not_found', 'bucket_not_empty', 'validation_error'],
  })
  async delete(
    @Param('bucket') bucket: string,
    @Query() query: DeleteBucketQuery,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new DeleteBucket(bucket, query.force ?? false, ctx));
    return { message: 'bucket deleted', id: bucket };
  }

  @Patch('buckets/:bucket/versioning')
  @StorageAction('storage:putBucketVersioning', "Change a bucket's versioning", 'bucket')
  @ApiOperationFor({
    id: 'setBucketVersioning',
    summary: 'Enable versioning, or suspend it (versions already kept stay)',
    response: BucketResponse,
    errors: ['validation_error', 'not_found'],
  })
  async versioning(
    @CallerTenant() tenantId: string,
    @Param('bucket') bucket: string,
    @Body() body: VersioningDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.commands.execute(new SetBucketVersioning(bucket, body.enabled, ctx));
    return this.bucketAnswer(reply, tenantId, bucket);
  }

  @Get('buckets/:bucket/lifecycle')
  @StorageAction('storage:getLifecycle', "List a bucket's lifecycle rules", 'bucket')
  @ApiOperationFor({
    id: 'listLifecycleRules',
    summary: "List a bucket's lifecycle rules",
    response: LifecycleRuleResponse,
    isArray: true,
    errors: ['not_found'],
  })
  async lifecycle(@CallerTenant() tenantId: string, @Param('bucket') bucket: string) {
    const found = await this.queries.readableBucket(bucket, tenantId);
    return found.state.lifecycleRules.map(lifecycleRuleView);
  }

  @Post('buckets/:bucket/lifecycle')
  @StorageAction('storage:putLifecycle', "Change a bucket's lifecycle rules", 'bucket')
  @ApiOperationFor({
    id: 'addLifecycleRule',
    summary:
      'Expire object versions under a prefix after a number of days (applied by a periodic job; each expiry is an event)',
    response: LifecycleRuleResponse,
    status: 201,
    errors: ['validation_error', 'not_found', 'conflict'],
  })
  async addRule(
    @CallerTenant() tenantId: string,
    @Param('bucket') bucket: string,
    @Body() body: LifecycleRuleDto,
    @Ctx() ctx: CommandContext,
  ) {
    const { result } = await this.commands.execute(
      new AddLifecycleRule(bucket, body.prefix, body.expiration_days, ctx),
    );
    const found = await this.queries.readableBucket(bucket, tenantId);
    const rule = found.state.lifecycleRules.find((r) => r.ruleId === result.ruleId);
    if (!rule) throw AppError.notFound('lifecycle_rule', result.ruleId);
    return lifecycleRuleView(rule);
  }

  @Delete('buckets/:bucket/lifecycle/:id')
  @StorageAction('storage:putLifecycle', "Change a bucket's lifecycle rules", 'bucket')
  @ApiOperationFor({
    id: 'deleteLifecycleRule',
    summary: "Change a bucket's lifecycle rules",
    response: StorageDeletedResponse,
    errors: ['not_found'],
  })
  async removeRule(
    @Param('bucket') bucket: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new RemoveLifecycleRule(bucket, id, ctx));
    return { message: 'lifecycle rule deleted', id };
  }

  @Get('cluster/status')
  @HttpCode(200)
  @StorageAction('storage:clusterStatus', 'Show the health and capacity of the blob store')
  @ApiOperationFor({
    id: 'getStorageClusterStatus',
    summary: "The blob store's nodes, capacity, use and health",
    response: ClusterStatusResponse,
  })
  async clusterStatus(@CallerTenant() tenantId: string) {
    const status = await this.blobs.status();
    const { rows } = await this.pool.query<{ bytes: string | null }>(
      'SELECT sum(size_bytes) AS bytes FROM storage_object_versions WHERE tenant_id = $1',
      [tenantId],
    );
    const health = status.healthy ? 'healthy' : 'unhealthy';
    return {
      status: health,
      nodes: [
        {
          id: 'local',
          backend: status.backend,
          status: health,
          capacity_bytes: status.capacityBytes,
          used_bytes: status.usedBytes,
          free_bytes: status.freeBytes,
          problem: status.problem,
        },
      ],
      capacity_bytes: status.capacityBytes,
      used_bytes: status.usedBytes,
      tenant_stored_bytes: Number(rows[0]?.bytes ?? 0),
    };
  }
}
