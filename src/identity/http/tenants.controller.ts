import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../../common/auth-context';
import { setEtag } from '../../common/etag';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import {
  AddMember,
  ChangeMemberRole,
  CreateTenant,
  RemoveMember,
  SwitchTenant,
  TenantsService,
} from '../application/tenants';
import {
  CurrentAuth,
  RequireAction,
  RequireUserSession,
  TenantFromParam,
  requireTenantUser,
} from '../auth/decorators';
import { AccountDirectory } from '../application/accounts';
import {
  AddMemberDto,
  ChangeMemberRoleDto,
  CreateTenantDto,
  MemberDetailResponse,
  MemberResponse,
  TenantResponse,
} from './dto';
import { IdentityReadModel } from '../read-model/identity-read-model';
import { ApiOperationFor } from '../../platform/http/api-operation';

@ApiTags('identity')
@Controller('tenants')
@RequireUserSession()
export class TenantsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly tenants: TenantsService,
    private readonly readModel: IdentityReadModel,
    private readonly accounts: AccountDirectory,
  ) {}

  @Get()
  @RequireAction('tenant:list', { resource: { type: 'tenant' } })
  @ApiOperationFor({
    id: 'listTenants',
    summary: 'The tenants the caller belongs to, with their role',
    response: TenantResponse,
    isArray: true,
  })
  async list(@CurrentAuth() auth: AuthContext) {
    const { userId } = requireTenantUser(auth);
    const user = await this.readModel.user(userId);
    return this.tenants.list(userId, user?.default_tenant_id ?? null);
  }

  @Post()
  @RequireAction('tenant:create', { resource: { type: 'tenant' } })
  @ApiOperationFor({
    id: 'createTenant',
    summary: 'Create a tenant; the caller becomes its owner',
    status: 201,
    response: TenantResponse,
    accepted: true,
    errors: ['validation_error', 'conflict'],
  })
  async create(
    @Body() body: CreateTenantDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { userId } = requireTenantUser(auth);
    const { result, caughtUp } = await this.commands.execute(new CreateTenant(userId, body, ctx));
    const { tenantId } = result;
    void reply.status(caughtUp ? 201 : 202).header('Location', `/tenants/${tenantId}`);
    if (!caughtUp) return { id: tenantId };
    const view = await this.tenants.view(tenantId, userId);
    setEtag(reply, view.revision);
    return view;
  }

  @Post(':id/switch')
  @HttpCode(200)
  @TenantFromParam('id')
  @RequireAction('tenant:switch', { resource: { type: 'tenant', param: 'id' } })
  @ApiOperationFor({
    id: 'switchTenant',
    summary: "Make a tenant the caller's default (JWT calls without X-Tenant-ID use it)",
    response: TenantResponse,
    errors: ['not_found'],
  })
  async switch(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ) {
    const { userId } = requireTenantUser(auth);
    await this.commands.execute(new SwitchTenant(userId, id, ctx));
    return this.tenants.view(id, userId);
  }

  @Get(':id/members')
  @TenantFromParam('id')
  @RequireAction('tenant:manageMembers', { resource: { type: 'tenant', param: 'id' } })
  @ApiOperationFor({
    id: 'listTenantMembers',
    summary: "The tenant's members, their roles and recent failed sign-ins (admins)",
    response: MemberDetailResponse,
    isArray: true,
    errors: ['not_found'],
  })
  async members(@Param('id') id: string): Promise<MemberDetailResponse[]> {
    const rows = await this.readModel.membersOf(id);
    return Promise.all(
      rows.map(async ({ membership, user }) => {
        const person = await this.accounts.publicUser(user);
        const signIns = this.accounts.signInActivity(user);
        return {
          user_id: membership.user_id,
          email: person.email,
          name: person.name,
          role: membership.role,
          added_at: membership.added_at.toISOString(),
          failed_sign_ins: signIns.failures,
          sign_ins_slowed: signIns.slowed,
        };
      }),
    );
  }

  @Post(':id/members')
  @TenantFromParam('id')
  @RequireAction('tenant:manageMembers', { resource: { type: 'tenant', param: 'id' } })
  @ApiOperationFor({
    id: 'addTenantMember',
    summary: 'Add a user to a tenant with a role (owner, admin, member, viewer)',
    status: 201,
    response: MemberResponse,
    errors: ['validation_error', 'not_found', 'conflict', 'forbidden'],
  })
  async addMember(
    @Param('id') id: string,
    @Body() body: AddMemberDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { userId } = requireTenantUser(auth);
    const { revision } = (await this.commands.execute(new AddMember(id, userId, body, ctx))).result;
    setEtag(reply, revision);
    return { tenant_id: id, user_id: body.user_id, role: body.role };
  }

  @Patch(':id/members/:userId')
  @TenantFromParam('id')
  @RequireAction('tenant:manageMembers', { resource: { type: 'tenant', param: 'id' } })
  @ApiOperationFor({
    id: 'changeTenantMemberRole',
    summary:
      "Change a member's role; only owners grant or take away owner, and the last owner stays",
    response: MemberResponse,
    errors: ['validation_error', 'not_found', 'invalid_state', 'forbidden'],
  })
  async changeMemberRole(
    @Param('id') id: string,
    @Param('userId') memberId: string,
    @Body() body: ChangeMemberRoleDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MemberResponse> {
    const { userId } = requireTenantUser(auth);
    const { revision } = (
      await this.commands.execute(new ChangeMemberRole(id, userId, memberId, body.role, ctx))
    ).result;
    setEtag(reply, revision);
    return { tenant_id: id, user_id: memberId, role: body.role };
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  @TenantFromParam('id')
  @RequireAction('tenant:manageMembers', { resource: { type: 'tenant', param: 'id' } })
  @ApiOperationFor({
    id: 'removeTenantMember',
    summary: 'Remove a member; only owners remove an owner, and the last owner stays',
    status: 204,
    errors: ['not_found', 'invalid_state', 'forbidden'],
  })
  async removeMember(
    @Param('id') id: string,
    @Param('userId') memberId: string,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ): Promise<void> {
    const { userId } = requireTenantUser(auth);
    await this.commands.execute(new RemoveMember(id, userId, memberId, ctx));
  }
}
