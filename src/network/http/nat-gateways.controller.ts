import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import type { Outcome } from '../../platform/commands/use-case';
import { EdgeAccess } from '../application/edge-access';
import { EdgeQueries } from '../application/edge-queries';
import {
  CreateNatGateway,
  DeleteNatGateway,
  type NatGatewayChanged,
} from '../application/nat-gateways';
import { CreateNatGatewayDto, ListNatGatewaysQuery, NatGatewayResponse } from './edge.dto';
import { afterWrite } from '../../platform/http/after-write';
import { NetworkAction } from './edge-http';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { CallerTenant } from '../../platform/http/caller';

const NAT = { type: 'nat-gateway', param: 'id' };

@ApiTags('nat-gateways')
@Controller('nat-gateways')
export class NatGatewaysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: EdgeQueries,
    private readonly edge: EdgeAccess,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<NatGatewayChanged>,
    status: 200 | 201,
    includeDeleted = false,
  ) {
    const { natGatewayId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/nat-gateways/${natGatewayId}`,
      status,
      read: () => this.queries.natGateway(tenantId, natGatewayId, includeDeleted),
      id: natGatewayId,
    });
  }

  @Get()
  @NetworkAction('nat-gateway:list', 'List the NAT gateways of a VPC', { type: 'nat-gateway' })
  @ApiOperationFor({
    id: 'listNatGateways',
    summary: "A VPC's NAT gateways, oldest first (vpc_id required; cursor pagination)",
    response: NatGatewayResponse,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  async list(@CallerTenant() tenantId: string, @Query() query: ListNatGatewaysQuery) {
    await this.edge.ownedVpc(query.vpc_id, tenantId);
    return this.queries.natGateways(tenantId, query.vpc_id, parsePage(query));
  }

  @Post()
  @NetworkAction('nat-gateway:create', 'Create a NAT gateway', { type: 'nat-gateway' })
  @ApiOperationFor({
    id: 'createNatGateway',
    summary:
      'Create a NAT gateway in a subnet with an elastic IP: 201 `pending`, then `active` once OVN has realized its snat, or `failed` with a failure_code (no_internet_gateway, elastic_ip_in_use, ...)',
    status: 201,
    response: NatGatewayResponse,
    errors: ['validation_error', 'not_found', 'conflict', 'quota_exceeded'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateNatGatewayDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(
      new CreateNatGateway(body.subnet_id, body.eip_id, ctx),
    );
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @NetworkAction('nat-gateway:get', 'Describe a NAT gateway', NAT)
  @ApiOperationFor({
    id: 'getNatGateway',
    summary: 'Describe a NAT gateway',
    response: NatGatewayResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.natGateway(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete(':id')
  @HttpCode(200)
  @NetworkAction('nat-gateway:delete', 'Delete a NAT gateway', NAT)
  @ApiOperationFor({
    id: 'deleteNatGateway',
    summary:
      'Tear it down: `deleting`, then `deleted` once the snat is gone; its elastic IP returns to `allocated`. Routes pointing at it: 409 dependency_violation',
    response: NatGatewayResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async delete(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DeleteNatGateway(id, ctx));
    // The teardown may be over before the answer is read: it shows `deleted` then.
    return this.respond(reply, tenantId, outcome, 200, true);
  }
}
