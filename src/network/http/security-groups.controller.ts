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
  AddSecurityGroupRule,
  AttachSecurityGroup,
  CreateSecurityGroup,
  DeleteSecurityGroup,
  DetachSecurityGroup,
  RemoveSecurityGroupRule,
} from '../application/security-groups';
import {
  AddSecurityGroupRuleDto,
  CreateSecurityGroupDto,
  SecurityGroupMembershipDto,
  SecurityGroupResponse,
  VpcScopedPageQuery,
} from './dto';
import { afterWrite } from '../../platform/http/after-write';

const GROUP = { type: 'security-group', param: 'id' };

@ApiTags('network')
@Controller('security-groups')
export class SecurityGroupsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: NetworkQueries,
    private readonly ops: NetworkOperations,
  ) {}

  private answer(
    reply: FastifyReply,
    ctx: CommandContext,
    outcome: { caughtUp: boolean; result: unknown },
    groupId: string,
    status: 200 | 201,
  ) {
    return afterWrite({
      reply,
      outcome,
      status,
      id: groupId,
      location: `/security-groups/${groupId}`,
      read: () => this.queries.securityGroup(tenantOf(ctx), groupId),
    });
  }

  @Get()
  @RequireAction('securitygroup:list', {
    description: 'List security groups',
    resource: { type: 'security-group' },
  })
  @ApiOperationFor({
    id: 'listSecurityGroups',
    summary: "A VPC's security groups (vpc_id required; pages: limit, cursor, envelope=true)",
    response: SecurityGroupResponse,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  async list(@Ctx() ctx: CommandContext, @Query() query: VpcScopedPageQuery) {
    const tenantId = tenantOf(ctx);
    await this.ops.visibleVpc(tenantId, query.vpc_id);
    return this.queries.securityGroups(tenantId, query.vpc_id, parsePage(query));
  }

  @Post()
  @RequireAction('securitygroup:create', {
    description: 'Create a security group',
    resource: { type: 'security-group' },
  })
  @ApiOperationFor({
    id: 'createSecurityGroup',
    summary:
      'Create a security group: egress allowed, ingress denied until a rule admits it (an OVN port group with its ACLs, realized before the answer)',
    status: 201,
    response: SecurityGroupResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'conflict', 'service_unavailable'],
  })
  async create(
    @Body() body: CreateSecurityGroupDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateSecurityGroup(body, ctx));
    return this.answer(reply, ctx, outcome, outcome.result.groupId, 201);
  }

  @Post('attach')
  @HttpCode(200)
  @RequireAction('securitygroup:attach', {
    description: 'Attach a security group to an instance',
    resource: { type: 'security-group' },
  })
  @ApiOperationFor({
    id: 'attachSecurityGroup',
    summary:
      "Add an instance to a group of its VPC (its NIC joins the group's port group, realized before the answer)",
    response: SecurityGroupResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'invalid_state', 'service_unavailable'],
  })
  async attach(
    @Body() body: SecurityGroupMembershipDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AttachSecurityGroup(body, ctx));
    return this.answer(reply, ctx, outcome, body.group_id, 200);
  }

  @Post('detach')
  @HttpCode(200)
  @RequireAction('securitygroup:detach', {
    description: 'Detach a security group from an instance',
    resource: { type: 'security-group' },
  })
  @ApiOperationFor({
    id: 'detachSecurityGroup',
    summary: 'Remove an instance from a group (409 invalid_state for its last group)',
    response: SecurityGroupResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'invalid_state', 'service_unavailable'],
  })
  async detach(
    @Body() body: SecurityGroupMembershipDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DetachSecurityGroup(body, ctx));
    return this.answer(reply, ctx, outcome, body.group_id, 200);
  }

  @Get(':id')
  @RequireAction('securitygroup:get', { description: 'Describe a security group', resource: GROUP })
  @ApiOperationFor({
    id: 'getSecurityGroup',
    summary: 'One security group with its rules and members',
    response: SecurityGroupResponse,
    errors: ['not_found'],
  })
  async get(
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.securityGroup(tenantOf(ctx), id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('securitygroup:delete', {
    description: 'Delete a security group',
    resource: GROUP,
  })
  @ApiIfMatch()
  @ApiOperationFor({
    id: 'deleteSecurityGroup',
    summary:
      "Delete a security group (409 invalid_state for the VPC's default group, dependency_violation while instances are members)",
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
    await this.commands.execute(new DeleteSecurityGroup(id, ctx));
  }

  @Post(':id/rules')
  @RequireAction('securitygroup:addRule', {
    description: 'Add a rule to a security group',
    resource: GROUP,
  })
  @ApiOperationFor({
    id: 'addSecurityGroupRule',
    summary:
      'Add an allow rule (stateful: replies pass); in force on the data plane when the answer comes. The same traffic twice is 409',
    status: 201,
    response: SecurityGroupResponse,
    accepted: true,
    errors: ['validation_error', 'not_found', 'conflict', 'service_unavailable'],
  })
  async addRule(
    @Param('id') id: string,
    @Body() body: AddSecurityGroupRuleDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new AddSecurityGroupRule(id, body, ctx));
    return this.answer(reply, ctx, outcome, id, 201);
  }

  @Delete(':id/rules/:ruleId')
  @HttpCode(204)
  @RequireAction('securitygroup:removeRule', {
    description: 'Remove a rule from a security group',
    resource: GROUP,
  })
  @ApiOperationFor({
    id: 'removeSecurityGroupRule',
    summary:
      'Remove a rule: new connections it admitted are refused, and connections it had admitted are cut too (OVN drops their tracked state)',
    status: 204,
    errors: ['not_found', 'service_unavailable'],
  })
  async removeRule(
    @Param('id') id: string,
    @Param('ruleId') ruleId: string,
    @Ctx() ctx: CommandContext,
  ): Promise<void> {
    await this.commands.execute(new RemoveSecurityGroupRule(id, ruleId, ctx));
  }
}
