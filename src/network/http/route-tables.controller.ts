import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiIfMatch, setEtag } from '../../common/etag';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { RequireAction } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import { tenantOf } from '../../platform/commands/use-case';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { NetworkOperations } from '../application/network-operations';
import { NetworkQueries } from '../application/network-queries';
import {
  AddRoute,
  AssociateSubnet,
  CreateRouteTable,
  DeleteRouteTable,
  DisassociateSubnet,
  RemoveRoute,
} from '../application/route-tables';
import {
  AddRouteDto,
  CreateRouteTableDto,
  RouteQuery,
  RouteTableResponse,
  SubnetAssociationDto,
  VpcScopedPageQuery,
} from './dto';
import { afterWrite } from '../../platform/http/after-write';

const TABLE = { type: 'route-table', param: 'id' };

@ApiTags('network')
@Controller('route-tables')
export class RouteTablesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: NetworkQueries,
    private readonly ops: NetworkOperations,
  ) {}

  private answer(
    reply: FastifyReply,
    ctx: CommandContext,
    outcome: { caughtUp: boolean; result: unknown },
    routeTableId: string,
    status: 200 | 201,
  ) {
    return afterWrite({
      reply,
      outcome,
      status,
      id: routeTableId,
      location: `/route-tables/${routeTableId}`,
      read: () => this.queries.routeTable(tenantOf(ctx), routeTableId),
    });
  }

  @Get()
  @RequireAction('routetable:list', {
    description: 'List route tables',
    resource: { type: 'route-table' },
  })
  @ApiOperationFor({
    id: 'listRouteTables',
    summary: "A VPC's route tables (vpc_id required; pages: limit, cursor, envelope=true)",
    response: RouteTableResponse,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  async list(@Ctx() ctx: CommandContext, @Query() query: VpcScopedPageQuery) {
    const tenantId = tenantOf(ctx);
    await this.ops.visibleVpc(tenantId, query.vpc_id);
    return this.queries.routeTables(tenantId, query.vpc_id, parsePage(query));
  }

  @Post()
  @RequireAction('routetable:create', {
    description: 'Create a route table',
    resource: { type: 'route-table' },
  })
  @ApiOperationFor({
    id: 'createRouteTable',
    summary: 'Create a route table with its local route',
    status: 201,
    response: RouteTableResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'conflict'],
  })
  async create(
    @Body() body: CreateRouteTableDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateRouteTable(body, ctx));
    return this.answer(reply, ctx, outcome, outcome.result.routeTableId, 201);
  }

  @Get(':id')
  @RequireAction('routetable:get', { description: 'Describe a route table', resource: TABLE })
  @ApiOperationFor({
    id: 'getRouteTable',
    summary: 'One route table with its routes and subnet associations',
    response: RouteTableResponse,
    errors: ['not_found'],
  })
  async get(
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.routeTable(tenantOf(ctx), id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('routetable:delete', { description: 'Delete a route table', resource: TABLE })
  @ApiIfMatch()
  @ApiOperationFor({
    id: 'deleteRouteTable',
    summary:
      'Delete a route table (409 invalid_state for the main table, dependency_violation while subnets are associated)',
    status: 204,
    errors: [
      'not_found',
      'invalid_state',
      'dependency_violation',
      'precondition_failed',
      'service_unavailable',
    ],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext): Promise<void> {
    await this.commands.execute(new DeleteRouteTable(id, ctx));
  }

  @Post(':id/routes')
  @RequireAction('routetable:addRoute', { description: 'Add a route', resource: TABLE })
  @ApiOperationFor({
    id: 'addRoute',
    summary:
      'Add a route to an internet gateway, NAT gateway or peering of the VPC (an OVN static route in this table, realized before the answer)',
    status: 201,
    response: RouteTableResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'conflict', 'invalid_state', 'service_unavailable'],
  })
  async addRoute(
    @Param('id') id: string,
    @Body() body: AddRouteDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AddRoute(id, body, ctx));
    return this.answer(reply, ctx, outcome, id, 201);
  }

  @Delete(':id/routes')
  @HttpCode(204)
  @RequireAction('routetable:removeRoute', { description: 'Remove a route', resource: TABLE })
  @ApiOperationFor({
    id: 'removeRoute',
    summary: 'Remove a route (route_id required; the local route is 409)',
    status: 204,
    errors: ['validation_error', 'not_found', 'invalid_state', 'service_unavailable'],
  })
  async removeRoute(
    @Param('id') id: string,
    @Query() query: RouteQuery,
    @Ctx() ctx: CommandContext,
  ): Promise<void> {
    await this.commands.execute(new RemoveRoute(id, query.route_id, ctx));
  }

  @Post(':id/associate')
  @HttpCode(200)
  @RequireAction('routetable:associate', {
    description: 'Associate a subnet with a route table',
    resource: TABLE,
  })
  @ApiOperationFor({
    id: 'associateRouteTable',
    summary:
      "Route a subnet's traffic by this table (409 while it is associated with another table)",
    response: RouteTableResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'conflict', 'service_unavailable'],
  })
  async associate(
    @Param('id') id: string,
    @Body() body: SubnetAssociationDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AssociateSubnet(id, body.subnet_id, ctx));
    return this.answer(reply, ctx, outcome, id, 200);
  }

  @Post(':id/disassociate')
  @HttpCode(200)
  @RequireAction('routetable:disassociate', {
    description: 'Disassociate a subnet from a route table',
    resource: TABLE,
  })
  @ApiOperationFor({
    id: 'disassociateRouteTable',
    summary: "The subnet goes back to its VPC's main route table",
    response: RouteTableResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'service_unavailable'],
  })
  async disassociate(
    @Param('id') id: string,
    @Body() body: SubnetAssociationDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DisassociateSubnet(id, body.subnet_id, ctx));
    return this.answer(reply, ctx, outcome, id, 200);
  }
}
