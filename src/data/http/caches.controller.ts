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
import { CacheAccess } from '../application/cache-access';
import { CreateCache, DeleteCache, FlushCache } from '../application/caches';
import { DataQueries } from '../application/data-queries';
import {
  CacheConnectionResponse,
  CacheResponse,
  CacheStatsResponse,
  CreateCacheDto,
  DataMessageResponse,
} from './caches.dto';
import { DataAction } from './data-http';

const CACHE = { type: 'cache' as const, param: 'id' };
const CACHES = { type: 'cache' as const };

@ApiTags('caches')
@Controller('caches')
export class CachesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: DataQueries,
    private readonly access: CacheAccess,
  ) {}

  @Get()
  @DataAction('cache:list', "List the tenant's caches", CACHES)
  @ApiOperationFor({
    id: 'listCaches',
    summary: "The tenant's caches, oldest first (cursor pagination)",
    response: CacheResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.caches(tenantId, parsePage(query));
  }

  @Post()
  @HttpCode(202)
  @DataAction('cache:create', 'Provision a Redis cache', CACHES)
  @ApiOperationFor({
    id: 'createCache',
    summary:
      'Provision a Redis 7 cache of memory_mb (maxmemory and container memory limit): 202 CREATING, then RUNNING once it answers',
    status: 202,
    response: CacheResponse,
    errors: ['validation_error', 'quota_exceeded'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateCacheDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(
      new CreateCache({ name: body.name, memoryMb: body.memory_mb }, ctx),
    );
    const { cacheId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/caches/${cacheId}`,
      status: 202,
      read: () => this.queries.cache(tenantId, cacheId),
      id: cacheId,
      accepted: { status: 'CREATING' },
    });
  }

  @Get(':id')
  @DataAction('cache:get', 'Describe a cache', CACHE)
  @ApiOperationFor({
    id: 'getCache',
    summary: 'Describe a cache',
    response: CacheResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.cache(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Get(':id/connection')
  @DataAction('cache:connect', "A cache's connection URL, with its password", CACHE)
  @ApiOperationFor({
    id: 'getCacheConnection',
    summary:
      'The URL `redis-cli -u` accepts (password included; on 127.0.0.1). Not RUNNING: 409 invalid_state',
    response: CacheConnectionResponse,
    errors: ['not_found', 'invalid_state'],
  })
  connection(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.access.connection(tenantId, id);
  }

  @Get(':id/stats')
  @DataAction('cache:describe', "A cache's statistics (from INFO)", CACHE)
  @ApiOperationFor({
    id: 'getCacheStats',
    summary: "Memory, keys, hits and misses from the server's INFO. Not RUNNING: 409 invalid_state",
    response: CacheStatsResponse,
    errors: ['not_found', 'invalid_state'],
  })
  stats(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.access.stats(tenantId, id);
  }

  @Post(':id/flush')
  @HttpCode(200)
  @DataAction('cache:flush', 'Remove every key of a cache', CACHE)
  @ApiOperationFor({
    id: 'flushCache',
    summary: 'FLUSHALL: every key removed. Not RUNNING: 409 invalid_state',
    response: DataMessageResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async flush(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new FlushCache(id, ctx));
    return { message: 'cache flushed', id };
  }

  @Delete(':id')
  @HttpCode(202)
  @DataAction('cache:delete', 'Delete a cache', CACHE)
  @ApiOperationFor({
    id: 'deleteCache',
    summary: 'DELETING, then gone: the container and its password removed',
    status: 202,
    response: DataMessageResponse,
    errors: ['not_found'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new DeleteCache(id, ctx));
    return { message: 'cache deletion started', id };
  }
}
