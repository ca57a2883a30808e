import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { PageQuery, parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { RequireAction } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import type { Outcome } from '../../platform/commands/use-case';
import { afterWrite } from '../../platform/http/after-write';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { CallerTenant } from '../../platform/http/caller';
import { SecretsService } from '../application/secrets.service';
import {
  CreateSecret,
  DeleteSecret,
  RotateSecret,
  type SecretChanged,
} from '../application/use-cases';
import {
  CreateSecretDto,
  RotateSecretDto,
  SecretDeletedResponse,
  SecretResponse,
  SecretValueResponse,
} from './secrets.dto';

const SECRET = { type: 'secret', param: 'id', service: 'secrets' };
const SECRETS = { type: 'secret', service: 'secrets' };

@ApiTags('secrets')
@Controller('secrets')
export class SecretsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly secrets: SecretsService,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<SecretChanged>,
    status: 200 | 201,
  ) {
    const { secretId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/secrets/${secretId}`,
      status,
      read: () => this.secrets.secret(tenantId, secretId),
      id: secretId,
    });
  }

  @Get()
  @RequireAction('secrets:list', {
    description: "List the tenant's secrets (names and metadata, never values)",
    resource: SECRETS,
  })
  @ApiOperationFor({
    id: 'listSecrets',
    summary:
      "The tenant's secrets, oldest first: names and metadata, never values (cursor pagination)",
    response: SecretResponse,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: PageQuery) {
    return this.secrets.secrets(tenantId, parsePage(query));
  }

  @Post()
  @RequireAction('secrets:create', { description: 'Create a secret', resource: SECRETS })
  @ApiOperationFor({
    id: 'createSecret',
    summary:
      'Store a value under a name unique in the tenant, encrypted at rest; the answer never holds the value',
    status: 201,
    response: SecretResponse,
    errors: ['validation_error', 'conflict'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateSecretDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateSecret(body, ctx));
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @RequireAction('secrets:get', {
    description: 'Describe a secret (metadata, never the value)',
    resource: SECRET,
  })
  @ApiOperationFor({
    id: 'getSecret',
    summary: 'Describe a secret: metadata only (the value: GET /secrets/{id}/value)',
    response: SecretResponse,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.secrets.secret(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Get(':id/value')
  @RequireAction('secrets:read', { description: "Read a secret's value", resource: SECRET })
  @ApiOperationFor({
    id: 'getSecretValue',
    summary: "The secret's current value (needs the secrets:read action)",
    response: SecretValueResponse,
    errors: ['not_found'],
  })
  value(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.secrets.value(tenantId, id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @RequireAction('secrets:rotate', {
    description: "Replace a secret's value (a new version)",
    resource: SECRET,
  })
  @ApiOperationFor({
    id: 'rotateSecret',
    summary:
      "Replace the value: the next version. A database's or cache's own secret: 409 invalid_state (use its rotate)",
    response: SecretResponse,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async rotate(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: RotateSecretDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new RotateSecret(id, body.value, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @RequireAction('secrets:delete', { description: 'Delete a secret', resource: SECRET })
  @ApiOperationFor({
    id: 'deleteSecret',
    summary:
      "Delete a secret. A database's or cache's own secret: 409 invalid_state (it goes with them)",
    response: SecretDeletedResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new DeleteSecret(id, ctx));
    return { message: 'secret deleted', id };
  }
}
