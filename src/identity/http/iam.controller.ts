import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { setEtag } from '../../common/etag';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import {
  AttachPolicy,
  CreatePolicy,
  DeletePolicy,
  DetachPolicy,
  PoliciesService,
} from '../application/policies';
import { RequireAction } from '../auth/decorators';
import { CallerTenant } from '../../platform/http/caller';
import { IAM_ACTIONS } from '../domain/iam-actions';
import { CreatePolicyDto, DeletePolicyQuery, IamActionResponse, PolicyResponse } from './dto';
import { ApiOperationFor } from '../../platform/http/api-operation';

const POLICY = { type: 'policy', param: 'id' };
const USER_POLICY = { type: 'policy', param: 'policyId' };

@ApiTags('identity')
@Controller('iam')
export class IamController {
  constructor(
    private readonly commands: CommandBus,
    private readonly policies: PoliciesService,
  ) {}

  @Get('policies')
  @RequireAction('iam:listPolicies', { resource: { type: 'policy' } })
  @ApiOperationFor({
    id: 'listPolicies',
    summary: "The tenant's IAM policies",
    response: PolicyResponse,
    isArray: true,
  })
  list(@CallerTenant() tenantId: string) {
    return this.policies.list(tenantId);
  }

  @Post('policies')
  @RequireAction('iam:createPolicy', { resource: { type: 'policy' } })
  @ApiOperationFor({
    id: 'createPolicy',
    summary: 'Create an IAM policy (statements: effect, action, resource)',
    status: 201,
    response: PolicyResponse,
    errors: ['validation_error', 'conflict'],
  })
  async create(
    @Body() body: CreatePolicyDto,
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { result: view, caughtUp } = await this.commands.execute(
      new CreatePolicy(tenantId, body, ctx),
    );
    void reply.status(caughtUp ? 201 : 202).header('Location', `/iam/policies/${view.id}`);
    if (!caughtUp) return { id: view.id };
    setEtag(reply, view.revision);
    return view;
  }

  @Get('policies/:id')
  @RequireAction('iam:getPolicy', { resource: POLICY })
  @ApiOperationFor({
    id: 'getPolicy',
    summary: 'One IAM policy',
    response: PolicyResponse,
    errors: ['not_found'],
  })
  async get(
    @Param('id') id: string,
    @CallerTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const view = await this.policies.get(tenantId, id);
    setEtag(reply, view.revision);
    return view;
  }

  @Delete('policies/:id')
  @HttpCode(204)
  @RequireAction('iam:deletePolicy', { resource: POLICY })
  @ApiOperationFor({
    id: 'deletePolicy',
    summary: 'Delete an IAM policy (409 dependency_violation while attached, unless force=true)',
    status: 204,
    errors: ['not_found', 'dependency_violation'],
  })
  async delete(
    @Param('id') id: string,
    @Query() query: DeletePolicyQuery,
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new DeletePolicy(tenantId, id, query.force === true, ctx));
  }

  @Post('users/:userId/policies/:policyId')
  @HttpCode(204)
  @RequireAction('iam:attachUserPolicy', { resource: USER_POLICY })
  @ApiOperationFor({
    id: 'attachUserPolicy',
    summary:
      'Attach a policy to a member of the tenant; a policy that would lock an owner out of IAM is 409 invalid_state',
    status: 204,
    errors: ['not_found', 'invalid_state'],
  })
  async attach(
    @Param('userId') userId: string,
    @Param('policyId') policyId: string,
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new AttachPolicy(tenantId, userId, policyId, ctx));
  }

  @Delete('users/:userId/policies/:policyId')
  @HttpCode(204)
  @RequireAction('iam:detachUserPolicy', { resource: USER_POLICY })
  @ApiOperationFor({
    id: 'detachUserPolicy',
    summary: 'Detach a policy from a user',
    status: 204,
    errors: ['not_found'],
  })
  async detach(
    @Param('userId') userId: string,
    @Param('policyId') policyId: string,
    @CallerTenant() tenantId: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new DetachPolicy(tenantId, userId, policyId, ctx));
  }

  @Get('users/:userId/policies')
  @RequireAction('iam:listUserPolicies', { resource: { type: 'policy' } })
  @ApiOperationFor({
    id: 'listUserPolicies',
    summary: 'The policies attached to a user in this tenant',
    response: PolicyResponse,
    isArray: true,
    errors: ['not_found'],
  })
  ofUser(@Param('userId') userId: string, @CallerTenant() tenantId: string) {
    return this.policies.ofUser(tenantId, userId);
  }

  @Get('actions')
  @RequireAction('iam:listActions')
  @ApiOperationFor({
    id: 'listIamActions',
    summary: 'Every IAM action the API declares (admins only)',
    response: IamActionResponse,
    isArray: true,
  })
  actions() {
    return IAM_ACTIONS.list();
  }
}
