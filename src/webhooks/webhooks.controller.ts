import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { paginate, parsePage } from '../common/pagination';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { tenantCallerOf } from '../events/caller';
import { RequireAction } from '../identity/auth/decorators';
import { CreateWebhook } from './use-cases/create-webhook';
import { DeleteWebhook } from './use-cases/delete-webhook';
import { CreateWebhookDto, DeliveriesQuery } from './webhooks.dto';
import { WebhooksService, type DeliveryJson, type WebhookJson } from './webhooks.service';

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly commands: CommandBus,
    private readonly webhooks: WebhooksService,
  ) {}

  @Get()
  @RequireAction('webhooks:list', { description: "List the tenant's webhook subscriptions" })
  @ApiOperation({ summary: 'Webhook subscriptions of the tenant (secrets are never returned)' })
  list(@Req() request: FastifyRequest): Promise<WebhookJson[]> {
    return this.webhooks.list(tenantCallerOf(request).tenantId);
  }

  @Post()
  @RequireAction('webhooks:create', { description: 'Create a webhook subscription' })
  @ApiOperation({ summary: 'Create a webhook subscription {url, events, is_active, secret}' })
  async create(
    @Req() request: FastifyRequest,
    @Body() body: CreateWebhookDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookJson | { id: string; secret?: string }> {
    const { tenantId } = tenantCallerOf(request);
    const { result, caughtUp } = await this.commands.execute(new CreateWebhook(body, ctx));
    const { id, generatedSecret } = result;
    const secret = generatedSecret ? { secret: generatedSecret } : {};
    void reply.status(caughtUp ? 201 : 202).header('Location', `/webhooks/${id}`);
    if (!caughtUp) return { id, ...secret };
    return { ...(await this.webhooks.get(tenantId, id)), ...secret };
  }

  @Get(':id')
  @RequireAction('webhooks:get', { description: 'Read a webhook subscription' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<WebhookJson> {
    return this.webhooks.get(tenantCallerOf(request).tenantId, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('webhooks:delete', { description: 'Delete a webhook subscription' })
  async delete(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ): Promise<void> {
    tenantCallerOf(request);
    await this.commands.execute(new DeleteWebhook(id, ctx));
  }

  @Post(':id/test')
  @HttpCode(200)
  @RequireAction('webhooks:test', { description: 'Send a test delivery to a webhook' })
  @ApiOperation({ summary: 'Send one signed test payload now; returns the delivery record' })
  test(@Req() request: FastifyRequest, @Param('id') id: string): Promise<DeliveryJson> {
    return this.webhooks.test(tenantCallerOf(request).tenantId, id);
  }

  @Get(':id/deliveries')
  @RequireAction('webhooks:listDeliveries', { description: "List a webhook's delivery log" })
  @ApiOperation({ summary: 'Delivery log of a webhook, newest first (cursor envelope)' })
  async deliveries(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Query() query: DeliveriesQuery,
  ): Promise<unknown> {
    const page = parsePage<[string, string]>(query);
    if (
      page.after !== null &&
      !(
        Array.isArray(page.after) &&
        page.after.length === 2 &&
        page.after.every((x) => typeof x === 'string')
      )
    ) {
      throw AppError.validation('cursor is not valid', [
        { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
      ]);
    }
    const rows = await this.webhooks.deliveries(
      tenantCallerOf(request).tenantId,
      id,
      page.after,
      page.limit + 1,
    );
    const result = paginate(rows, page, (r) => r.key);
    return Array.isArray(result)
      ? result.map((r) => r.row)
      : { ...result, items: result.items.map((r) => r.row) };
  }
}
