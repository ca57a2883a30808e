import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import { WEBHOOKS_PROJECTION } from '../../../projections/webhooks';
import { AppError } from '../../common/errors/app-error';
import type { AppConfig } from '../../config/config';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { APP_CONFIG } from '../../platform/tokens';
import { webhookDecider } from '../domain/webhook';
import { WEBHOOK_SECRETS } from '../webhook-dispatcher';
import { resolveTarget } from '../webhook-http';
import type { WebhookSecrets } from '../webhook-secrets';
import type { CreateWebhookDto } from '../webhooks.dto';

/** The new subscription's id, and its signing secret when Nimbus generated it (shown once). */
export interface CreatedWebhook {
  id: string;
  generatedSecret: string | null;
}

/** POST /webhooks: a subscription of the tenant to event types, its secret stored encrypted. */
export class CreateWebhook extends UseCaseCommand<CreatedWebhook> {
  constructor(
    readonly dto: CreateWebhookDto,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateWebhook)
export class CreateWebhookHandler extends UseCaseHandler<CreateWebhook, CreatedWebhook> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRETS) private readonly secrets: WebhookSecrets,
  ) {
    super();
  }

  protected async handle({ dto, ctx }: CreateWebhook): Promise<Handled<CreatedWebhook>> {
    const tenantId = tenantOf(ctx);
    const target = await resolveTarget(dto.url, this.config.webhooksAllowPrivateTargets);
    if (!target.ok) {
      throw AppError.validation(`url is not allowed: ${target.message}`, [
        { path: 'url', message: target.message },
      ]);
    }
    const generatedSecret = dto.secret ? null : `whsec_${randomBytes(24).toString('base64url')}`;
    const secret = dto.secret ?? (generatedSecret as string);
    // The id follows the command id, so a retried request (Idempotency-Key) names the same webhook.
    const webhookId = ctx.commandId;
    const result = await this.executor.execute(
      webhookDecider,
      webhookId,
      {
        type: 'CreateWebhook',
        webhookId,
        tenantId,
        url: target.url.toString(),
        events: [...new Set(dto.events)],
        isActive: dto.is_active ?? true,
        secretEnc: this.secrets.encrypt(webhookId, secret),
        now: ctx.now,
      },
      ctx,
    );
    return {
      result: { id: webhookId, generatedSecret },
      written: [written(result.position, WEBHOOKS_PROJECTION)],
    };
  }
}
