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
  AnswerVpcPeering,
  DeleteVpcPeering,
  RequestVpcPeering,
  type VpcPeeringChanged,
} from '../application/vpc-peerings';
import { RequestVpcPeeringDto, VpcPeeringResponse } from './edge.dto';
import { afterWrite } from '../../platform/http/after-write';
import { NetworkAction } from './edge-http';
import { CallerTenant } from '../../platform/http/caller';
import { ApiOperationFor } from '../../platform/http/api-operation';

const PEERING = { type: 'vpc-peering', param: 'id' };

@ApiTags('vpc-peerings')
@Controller('vpc-peerings')
export class VpcPeeringsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: EdgeQueries,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<VpcPeeringChanged>,
    status: 200 | 201,
    includeDeleted = false,
  ) {
    const { peeringId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/vpc-peerings/${peeringId}`,
      status,
      read: () => this.queries.vpcPeering(tenantId, peeringId, includeDeleted),
      id: peeringId,
    });
  }

  @Get()
  @NetworkAction('vpc-peering:list', 'List VPC peerings', { type: 'vpc-peering' })
  @ApiOperationFor({
    id: 'listVpcPeerings',
    summary:
      'The peerings the tenant requested or was asked to accept, oldest first (cursor pagination)',
    response: VpcPeeringResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.queries.vpcPeerings(tenantId, parsePage(query));
  }

  @Post()
  @NetworkAction('vpc-peering:request', 'Request a VPC peering', { type: 'vpc-peering' })
  @ApiOperationFor({
    id: 'requestVpcPeering',
    summary:
      "Ask to peer your VPC with another (yours or another tenant's): 201 `pending-acceptance` until its owner accepts, rejects, or it expires (NIMBUS_PEERING_EXPIRY). Self-peering or overlapping blocks: 400; a pending or active peering of the pair: 409",
    status: 201,
    response: VpcPeeringResponse,
    errors: ['validation_error', 'not_found', 'conflict'],
  })
  async request(
    @CallerTenant() tenantId: string,
    @Body() body: RequestVpcPeeringDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(
      new RequestVpcPeering(body.requester_vpc_id, body.accepter_vpc_id, ctx),
    );
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @NetworkAction('vpc-peering:get', 'Describe a VPC peering', PEERING)
  @ApiOperationFor({
    id: 'getVpcPeering',
    summary: 'Describe a VPC peering',
    response: VpcPeeringResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.vpcPeering(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Post(':id/accept')
  @HttpCode(200)
  @NetworkAction('vpc-peering:accept', 'Accept a VPC peering request', PEERING)
  @ApiOperationFor({
    id: 'acceptVpcPeering',
    summary:
      "Accept (the accepter VPC's owner only; the requester gets 403): `provisioning`, then `active` once the routers are linked and each has a route for exactly the other's block. Not pending: 409 invalid_state",
    response: VpcPeeringResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async accept(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AnswerVpcPeering(id, 'accept', ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @NetworkAction('vpc-peering:reject', 'Reject a VPC peering request', PEERING)
  @ApiOperationFor({
    id: 'rejectVpcPeering',
    summary: "Reject (the accepter VPC's owner only): `rejected`. Not pending: 409 invalid_state",
    response: VpcPeeringResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async reject(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AnswerVpcPeering(id, 'reject', ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @HttpCode(200)
  @NetworkAction('vpc-peering:delete', 'Delete a VPC peering', PEERING)
  @ApiOperationFor({
    id: 'deleteVpcPeering',
    summary:
      'Either side: `deleting`, then `deleted` once the link and its routes are gone. Routes of a route table pointing at it: 409 dependency_violation',
    response: VpcPeeringResponse,
    errors: ['not_found', 'dependency_violation'],
  })
  async delete(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DeleteVpcPeering(id, ctx));
    // The teardown may be over before the answer is read: it shows `deleted` then.
    return this.respond(reply, tenantId, outcome, 200, true);
  }
}
