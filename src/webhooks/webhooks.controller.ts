import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { paginate, parsePage } from '../common/pagination';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { CallerTenant } from '../platform/http/caller';
import { RequireAction } from '../identity/auth/decorators';
import { CreateWebhook } from './use-cases/create-webhook';
import { DeleteWebhook } from './use-cases/delete-webhook';
import { CreateWebhookDto, DeliveriesQuery } from './webhooks.dto';
import { WebhooksService } from './webhooks.service';
import { z } from 'zod';
import { CreatedWebhookSchema, WebhookDeliverySchema, WebhookSchema } from './webhooks.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../platform/http/api-schema';

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly commands: CommandBus,
    private readonly webhooks: WebhooksService,
  ) {}

  @Get()
  @RequireAction('webhooks:list', { description: "List the tenant's webhook subscriptions" })
  @ApiOperationFor({
    id: 'listWebhooks',
    summary: 'Webhook subscriptions of the tenant (secrets are never returned)',
    response: z.array(WebhookSchema),
  })
  list(@CallerTenant() tenantId: string): Promise<ResponseBody<typeof WebhookSchema>[]> {
    return this.webhooks.list(tenantId);
  }

  @Post()
  @RequireAction('webhooks:create', { description: 'Create a webhook subscription' })
  @ApiOperationFor({
    id: 'createWebhook',
    summary: 'Create a webhook subscription {url, events, is_active, secret}',
    status: 201,
    response: CreatedWebhookSchema,
    errors: ['validation_error'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateWebhookDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof CreatedWebhookSchema>> {
    const { result, caughtUp } = await this.commands.execute(new CreateWebhook(body, ctx));
    const { id, generatedSecret } = result;
    const secret = generatedSecret ? { secret: generatedSecret } : {};
    void reply.status(caughtUp ? 201 : 202).header('Location', `/webhooks/${id}`);
    if (!caughtUp) return { id, ...secret };
    return { ...(await this.webhooks.get(tenantId, id)), ...secret };
  }

  @Get(':id')
  @RequireAction('webhooks:get', { description: 'Read a webhook subscription' })
  @ApiOperationFor({
    id: 'getWebhook',
    summary: 'Describe a webhook subscription',
    response: WebhookSchema,
    errors: ['not_found'],
  })
  get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
  ): Promise<ResponseBody<typeof WebhookSchema>> {
    return this.webhooks.get(tenantId, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAction('webhooks:delete', { description: 'Delete a webhook subscription' })
  @ApiOperationFor({
    id: 'deleteWebhook',
    summary: 'Delete a webhook subscription',
    status: 204,
    errors: ['not_found'],
  })
  async delete(@Param('id') id: string, @Ctx() ctx: CommandContext): Promise<void> {
    await this.commands.execute(new DeleteWebhook(id, ctx));
  }

  @Post(':id/test')
  @HttpCode(200)
  @RequireAction('webhooks:test', { description: 'Send a test delivery to a webhook' })
  @ApiOperationFor({
    id: 'testWebhook',
    summary: 'Send one signed test payload now; returns the delivery record',
    response: WebhookDeliverySchema,
    errors: ['not_found'],
  })
  test(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
  ): Promise<ResponseBody<typeof WebhookDeliverySchema>> {
    return this.webhooks.test(tenantId, id);
  }

  @Get(':id/deliveries')
  @RequireAction('webhooks:listDeliveries', { description: "List a webhook's delivery log" })
  @ApiOperationFor({
    id: 'listWebhookDeliveries',
    summary: 'Delivery log of a webhook, newest first (cursor envelope)',
    response: WebhookDeliverySchema,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  async deliveries(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Query() query: DeliveriesQuery,
  ): Promise<ResponsePage<typeof WebhookDeliverySchema>> {
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
    const rows = await this.webhooks.deliveries(tenantId, id, page.after, page.limit + 1);
    const result = paginate(rows, page, (r) => r.key);
    return Array.isArray(result)
      ? result.map((r) => r.row)
      : { ...result, items: result.items.map((r) => r.row) };
  }
}
