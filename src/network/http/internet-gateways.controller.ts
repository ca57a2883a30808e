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
  AttachInternetGateway,
  CreateInternetGateway,
  DeleteInternetGateway,
  DetachInternetGateway,
  type InternetGatewayChanged,
} from '../application/internet-gateways';
import {
  AttachInternetGatewayDto,
  NetworkDeletedResponse,
  InternetGatewayResponse,
} from './edge.dto';
import { afterWrite } from '../../platform/http/after-write';
import { NetworkAction } from './edge-http';
import { CallerTenant } from '../../platform/http/caller';
import { ApiOperationFor } from '../../platform/http/api-operation';

const IGW = { type: 'igw', param: 'id' };

@ApiTags('internet-gateways')
@Controller('internet-gateways')
export class InternetGatewaysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: EdgeQueries,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<InternetGatewayChanged>,
    status: 200 | 201,
  ) {
    const { igwId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/internet-gateways/${igwId}`,
      status,
      read: () => this.queries.internetGateway(tenantId, igwId),
      id: igwId,
    });
  }

  @Get()
  @NetworkAction('internet-gateway:list', 'List internet gateways', { type: 'igw' })
  @ApiOperationFor({
    id: 'listInternetGateways',
    summary: "The tenant's internet gateways, oldest first (cursor pagination)",
    response: InternetGatewayResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.internetGateways(tenantId, parsePage(query));
  }

  @Post()
  @NetworkAction('internet-gateway:create', 'Create an internet gateway', { type: 'igw' })
  @ApiOperationFor({
    id: 'createInternetGateway',
    summary: 'Create an internet gateway (`detached` until attached to a VPC)',
    status: 201,
    response: InternetGatewayResponse,
  })
  async create(
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateInternetGateway(ctx));
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @NetworkAction('internet-gateway:get', 'Describe an internet gateway', IGW)
  @ApiOperationFor({
    id: 'getInternetGateway',
    summary: 'Describe an internet gateway',
    response: InternetGatewayResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.internetGateway(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Post(':id/attach')
  @HttpCode(200)
  @NetworkAction('internet-gateway:attach', 'Attach an internet gateway to a VPC', IGW)
  @ApiOperationFor({
    id: 'attachInternetGateway',
    summary:
      'Attach to a VPC: its router gets a port on the external network (answered once OVN has realized it). One gateway per VPC (409 conflict); attached elsewhere: 409 invalid_state',
    response: InternetGatewayResponse,
    errors: ['validation_error', 'not_found', 'conflict', 'invalid_state'],
  })
  async attach(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: AttachInternetGatewayDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AttachInternetGateway(id, body.vpc_id, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Post(':id/detach')
  @HttpCode(200)
  @NetworkAction('internet-gateway:detach', 'Detach an internet gateway from its VPC', IGW)
  @ApiOperationFor({
    id: 'detachInternetGateway',
    summary:
      'Detach from its VPC: 409 dependency_violation while routes point at it or elastic IPs of the VPC are associated',
    response: InternetGatewayResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async detach(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DetachInternetGateway(id, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @NetworkAction('internet-gateway:delete', 'Delete an internet gateway', IGW)
  @ApiOperationFor({
    id: 'deleteInternetGateway',
    summary: 'Delete a detached internet gateway (attached: 409 dependency_violation)',
    response: NetworkDeletedResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new DeleteInternetGateway(id, ctx));
    return { message: 'internet gateway deleted', id };
  }
}
