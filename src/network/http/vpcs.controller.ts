import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiIfMatch, setEtag } from '../../common/etag';
import { ApiErrors } from '../../common/errors/error-envelope';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { RequireAction } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import { tenantOf } from '../../platform/commands/use-case';
import { NetworkQueries } from '../application/network-queries';
import { CreateSubnet, DeleteSubnet } from '../application/subnets';
import { CreateVpc, DeleteVpc } from '../application/vpcs';
import { NetworkOperations } from '../application/network-operations';
import { CreateSubnetDto, CreateVpcDto, SubnetResponse, VpcResponse } from './dto';
import { afterWrite } from '../../platform/http/after-write';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { CallerTenant } from '../../platform/http/caller';

const VPC = { type: 'vpc', param: 'id' };
const VPC_OF_SUBNETS = { type: 'vpc', param: 'vpcId' };
const SUBNET = { type: 'subnet', param: 'id' };
const ACCEPTED = 'The read model did not catch up in time: the id, and Location to poll.';

@ApiTags('network')
@Controller('vpcs')
export class VpcsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: NetworkQueries,
    private readonly ops: NetworkOperations,
  ) {}

  @Get()
  @RequireAction('vpc:list', { description: 'List VPCs', resource: { type: 'vpc' } })
  @ApiOperationFor({
    id: 'listVpcs',
    summary: "The tenant's VPCs (pages: limit, cursor, envelope=true)",
    response: VpcResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.vpcs(tenantId, parsePage(query));
  }

  @Post()
  @RequireAction('vpc:create', { description: 'Create a VPC', resource: { type: 'vpc' } })
  @ApiOperation({
    operationId: 'createVpc',
    summary:
      'Create a VPC: an OVN logical router (realized before the answer), its main route table with the local route, and its default security group',
  })
  @ApiCreatedResponse({
    type: VpcResponse,
    headers: { Location: { description: '/vpcs/<id>', schema: { type: 'string' } } },
  })
  @ApiAcceptedResponse({ description: ACCEPTED })
  @ApiErrors('validation_error', 'quota_exceeded', 'service_unavailable')
  async create(
    @Body() body: CreateVpcDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateVpc(body, ctx));
    const { vpcId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      status: 201,
      id: vpcId,
      location: `/vpcs/${vpcId}`,
      read: () => this.queries.vpc(tenantOf(ctx), vpcId),
    });
  }

  @Get(':id')
  @RequireAction('vpc:get', { description: 'Describe a VPC', resource: VPC })
  @ApiOperationFor({
    id: 'getVpc',
    summary: 'One VPC',
    response: VpcResponse,
    errors: ['not_found'],
  })
  async get(
    @Param('id') id: string,
    @CallerTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.vpc(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('vpc:delete', { description: 'Delete a VPC', resource: VPC })
  @ApiIfMatch()
  @ApiOperationFor({
    id: 'deleteVpc',
    summary:
      'Delete a VPC (409 dependency_violation naming its subnets, instances, gateways, peerings, route tables and security groups while any remain)',
    status: 204,
    errors: ['not_found', 'dependency_violation', 'precondition_failed', 'service_unavailable'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext): Promise<void> {
    await this.commands.execute(new DeleteVpc(id, ctx));
  }

  @Get(':vpcId/subnets')
  @RequireAction('subnet:list', { description: 'List subnets', resource: VPC_OF_SUBNETS })
  @ApiOperationFor({
    id: 'listSubnets',
    summary: "The VPC's subnets (pages: limit, cursor, envelope=true)",
    response: SubnetResponse,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  async subnets(
    @Param('vpcId') vpcId: string,
    @CallerTenant() tenantId: string,
    @Query() query: PageQuery,
  ) {
    await this.ops.visibleVpc(tenantId, vpcId);
    return this.queries.subnets(tenantId, vpcId, parsePage(query));
  }

  @Post(':vpcId/subnets')
  @RequireAction('subnet:create', { description: 'Create a subnet', resource: VPC_OF_SUBNETS })
  @ApiOperation({
    operationId: 'createSubnet',
    summary:
      'Create a subnet: an OVN logical switch with a router port and DHCP options (realized before the answer)',
  })
  @ApiCreatedResponse({
    type: SubnetResponse,
    headers: { Location: { description: '/subnets/<id>', schema: { type: 'string' } } },
  })
  @ApiAcceptedResponse({ description: ACCEPTED })
  @ApiErrors('validation_error', 'not_found', 'conflict', 'service_unavailable')
  async createSubnet(
    @Param('vpcId') vpcId: string,
    @Body() body: CreateSubnetDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateSubnet(vpcId, body, ctx));
    const { subnetId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      status: 201,
      id: subnetId,
      location: `/subnets/${subnetId}`,
      read: () => this.queries.subnet(tenantOf(ctx), subnetId),
    });
  }
}

@ApiTags('network')
@Controller('subnets')
export class SubnetsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: NetworkQueries,
  ) {}

  @Get(':id')
  @RequireAction('subnet:get', { description: 'Describe a subnet', resource: SUBNET })
  @ApiOperationFor({
    id: 'getSubnet',
    summary: 'One subnet',
    response: SubnetResponse,
    errors: ['not_found'],
  })
  async get(
    @Param('id') id: string,
    @CallerTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.subnet(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('subnet:delete', { description: 'Delete a subnet', resource: SUBNET })
  @ApiIfMatch()
  @ApiOperationFor({
    id: 'deleteSubnet',
    summary: 'Delete a subnet (409 dependency_violation naming the instances still in it)',
    status: 204,
    errors: ['not_found', 'dependency_violation', 'precondition_failed', 'service_unavailable'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext): Promise<void> {
    await this.commands.execute(new DeleteSubnet(id, ctx));
  }
}
