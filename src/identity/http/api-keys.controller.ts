import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../../common/auth-context';
import { setEtag } from '../../common/etag';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { AppError } from '../../common/errors/app-error';
import type { Outcome } from '../../platform/commands/use-case';
import {
  ApiKeysService,
  CreateApiKey,
  RevokeApiKey,
  RotateApiKey,
  type ApiKeyWithSecret,
  type IssuedKey,
} from '../application/api-keys';
import { CurrentAuth, RequireAction, RequireUserSession } from '../auth/decorators';
import { ApiKeyResponse, ApiKeyWithSecretResponse, CreateApiKeyDto } from './dto';
import { ApiOperationFor } from '../../platform/http/api-operation';

const KEY = { type: 'key', param: 'id' };

/** A key change must be in force before the answer (the guard reads it next): else 503, retry. */
function inForce(outcome: Outcome<unknown>): void {
  if (!outcome.caughtUp) {
    throw new AppError(
      'service_unavailable',
      'the key change is recorded but not yet effective; retry shortly',
    );
  }
}

@ApiTags('identity')
@Controller('auth/keys')
@RequireUserSession()
export class ApiKeysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly keys: ApiKeysService,
  ) {}

  private async withSecret(outcome: Outcome<IssuedKey>): Promise<ApiKeyWithSecret> {
    inForce(outcome);
    return { ...(await this.keys.view(outcome.result.keyId)), key: outcome.result.key };
  }

  @Post()
  @RequireAction('apikey:create', { resource: { type: 'key' } })
  @ApiOperationFor({
    id: 'createApiKey',
    summary: 'Create an API key bound to the current tenant (the key is shown once)',
    status: 201,
    response: ApiKeyWithSecretResponse,
    errors: ['validation_error'],
  })
  async create(
    @Body() body: CreateApiKeyDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const created = await this.withSecret(
      await this.commands.execute(new CreateApiKey(auth, body, ctx)),
    );
    void reply.header('Location', `/auth/keys/${created.id}`);
    setEtag(reply, created.revision);
    return created;
  }

  @Get()
  @RequireAction('apikey:list', { resource: { type: 'key' } })
  @ApiOperationFor({
    id: 'listApiKeys',
    summary: "The caller's API keys in the current tenant (never their secrets)",
    response: ApiKeyResponse,
    isArray: true,
  })
  list(@CurrentAuth() auth: AuthContext) {
    return this.keys.list(auth);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('apikey:revoke', { resource: KEY })
  @ApiOperationFor({
    id: 'revokeApiKey',
    summary: 'Revoke an API key: it gets 401 from the next request on',
    status: 204,
    errors: ['not_found'],
  })
  async revoke(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ) {
    inForce(await this.commands.execute(new RevokeApiKey(auth, id, ctx)));
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @RequireAction('apikey:rotate', { resource: KEY })
  @ApiOperationFor({
    id: 'rotateApiKey',
    summary: 'Replace the secret of an API key; the old key stops working at once',
    response: ApiKeyWithSecretResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async rotate(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ) {
    return this.withSecret(await this.commands.execute(new RotateApiKey(auth, id, ctx)));
  }

  @Post(':id/regenerate')
  @HttpCode(200)
  @RequireAction('apikey:rotate', { resource: KEY })
  @ApiOperationFor({
    id: 'regenerateApiKey',
    summary: 'Alias of rotate',
    response: ApiKeyWithSecretResponse,
    errors: ['not_found', 'invalid_state'],
  })
  async regenerate(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ) {
    return this.withSecret(await this.commands.execute(new RotateApiKey(auth, id, ctx)));
  }
}
