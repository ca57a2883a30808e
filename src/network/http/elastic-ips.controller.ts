import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import type { Outcome } from '../../platform/commands/use-case';
import { EdgeQueries } from '../application/edge-queries';
import {
  AllocateElasticIp,
  AssociateElasticIp,
  DisassociateElasticIp,
  ReleaseElasticIp,
  type ElasticIpChanged,
} from '../application/elastic-ips';
import { AssociateElasticIpDto, NetworkDeletedResponse, ElasticIpResponse } from './edge.dto';
import { afterWrite } from '../../platform/http/after-write';
import { NetworkAction } from './edge-http';
import { CallerTenant } from '../../platform/http/caller';
import { ApiOperationFor } from '../../platform/http/api-operation';

const EIP = { type: 'eip', param: 'id' };

@ApiTags('elastic-ips')
@Controller('elastic-ips')
export class ElasticIpsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: EdgeQueries,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<ElasticIpChanged>,
    status: 200 | 201,
  ) {
    const { eipId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/elastic-ips/${eipId}`,
      status,
      read: () => this.queries.elasticIp(tenantId, eipId),
      id: eipId,
    });
  }

  @Get()
  @NetworkAction('elastic-ip:list', 'List elastic IPs', { type: 'eip' })
  @ApiOperationFor({
    id: 'listElasticIps',
    summary: "The tenant's elastic IPs, oldest first (cursor pagination)",
    response: ElasticIpResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.elasticIps(tenantId, parsePage(query));
  }

  @Post()
  @NetworkAction('elastic-ip:allocate', 'Allocate an elastic IP', { type: 'eip' })
  @ApiOperationFor({
    id: 'allocateElasticIp',
    summary:
      'Allocate the lowest free address of the pool (no body); metered by the hour until released',
    status: 201,
    response: ElasticIpResponse,
    errors: ['quota_exceeded', 'conflict'],
  })
  async allocate(
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AllocateElasticIp(ctx));
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @NetworkAction('elastic-ip:get', 'Describe an elastic IP', EIP)
  @ApiOperationFor({
    id: 'getElasticIp',
    summary: 'Describe an elastic IP',
    response: ElasticIpResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.elasticIp(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Post(':id/associate')
  @HttpCode(200)
  @NetworkAction('elastic-ip:associate', 'Associate an elastic IP with an instance', EIP)
  @ApiOperationFor({
    id: 'associateElasticIp',
    summary:
      "Map the address to an instance's private address (dnat_and_snat; answered once OVN has realized it). The instance needs a VPC with an internet gateway (409 invalid_state); associated elsewhere: 409 conflict",
    response: ElasticIpResponse,
    errors: ['validation_error', 'not_found', 'conflict', 'invalid_state'],
  })
  async associate(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: AssociateElasticIpDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AssociateElasticIp(id, body.instance_id, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Post(':id/disassociate')
  @HttpCode(200)
  @NetworkAction('elastic-ip:disassociate', 'Disassociate an elastic IP', EIP)
  @ApiOperationFor({
    id: 'disassociateElasticIp',
    summary:
      'Remove the mapping (answered once OVN has removed it); an address a NAT gateway uses is 409 dependency_violation',
    response: ElasticIpResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async disassociate(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DisassociateElasticIp(id, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @NetworkAction('elastic-ip:release', 'Release an elastic IP', EIP)
  @ApiOperationFor({
    id: 'releaseElasticIp',
    summary: 'Return the address to the pool (associated: 409 dependency_violation)',
    response: NetworkDeletedResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async release(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new ReleaseElasticIp(id, ctx));
    return { message: 'elastic IP released', id };
  }
}
