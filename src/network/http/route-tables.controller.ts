import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiIfMatch, setEtag } from '../../common/etag';
import { ApiErrors } from '../../common/errors/error-envelope';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { RequireAction } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import { tenantOf } from '../../platform/commands/use-case';
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
import { afterWrite } from './respond';

const TABLE = { type: 'route-table', param: 'id' };
const ACCEPTED = 'The read model did not catch up in time: the id, and Location to poll.';

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
  @ApiOperation({ summary: "A VPC's route tables (vpc_id required; pages: limit, cursor)" })
  @ApiOkResponse({ type: RouteTableResponse, isArray: true })
  @ApiErrors('validation_error', 'not_found')
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
  @ApiOperation({ summary: 'Create a route table with its local route' })
  @ApiCreatedResponse({ type: RouteTableResponse })
  @ApiAcceptedResponse({ description: ACCEPTED })
  @ApiErrors('validation_error', 'not_found', 'conflict')
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
  @ApiOperation({ summary: 'One route table with its routes and subnet associations' })
  @ApiOkResponse({ type: RouteTableResponse })
  @ApiErrors('not_found')
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
  @ApiOperation({
    summary:
      'Delete a route table (409 invalid_state for the main table, dependency_violation while subnets are associated)',
  })
  @ApiIfMatch()
  @ApiNoContentResponse()
  @ApiErrors(
    'not_found',
    'invalid_state',
    'dependency_violation',
    'precondition_failed',
    'service_unavailable',
  )
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext): Promise<void> {
    await this.commands.execute(new DeleteRouteTable(id, ctx));
  }

  @Post(':id/routes')
  @RequireAction('routetable:addRoute', { description: 'Add a route', resource: TABLE })
  @ApiOperation({
    summary:
      'Add a route to an internet gateway, NAT gateway or peering of the VPC (an OVN static route in this table, realized before the answer)',
  })
  @ApiCreatedResponse({ type: RouteTableResponse })
  @ApiAcceptedResponse({ description: ACCEPTED })
  @ApiErrors('validation_error', 'not_found', 'conflict', 'invalid_state', 'service_unavailable')
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
  @ApiOperation({ summary: 'Remove a route (route_id required; the local route is 409)' })
  @ApiNoContentResponse()
  @ApiErrors('validation_error', 'not_found', 'invalid_state', 'service_unavailable')
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
  @ApiOperation({
    summary:
      "Route a subnet's traffic by this table (409 while it is associated with another table)",
  })
  @ApiOkResponse({ type: RouteTableResponse })
  @ApiErrors('validation_error', 'not_found', 'conflict', 'service_unavailable')
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
  @ApiOperation({ summary: "The subnet goes back to its VPC's main route table" })
  @ApiOkResponse({ type: RouteTableResponse })
  @ApiErrors('validation_error', 'not_found', 'service_unavailable')
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
