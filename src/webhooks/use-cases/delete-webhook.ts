import { CommandHandler } from '@nestjs/cqrs';
import { WEBHOOKS_PROJECTION } from '../../../projections/webhooks';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { webhookDecider } from '../domain/webhook';
import { WebhooksService } from '../webhooks.service';

/** DELETE /webhooks/:id: no more deliveries; another tenant's webhook is 404. */
export class DeleteWebhook extends UseCaseCommand<void> {
  constructor(
    readonly webhookId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteWebhook)
export class DeleteWebhookHandler extends UseCaseHandler<DeleteWebhook, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly webhooks: WebhooksService,
  ) {
    super();
  }

  protected async handle({ webhookId, ctx }: DeleteWebhook): Promise<Handled<void>> {
    await this.webhooks.get(tenantOf(ctx), webhookId);
    const result = await this.executor.execute(
      webhookDecider,
      webhookId,
      { type: 'DeleteWebhook', now: ctx.now },
      ctx,
    );
    return { result: undefined, written: [written(result.position, WEBHOOKS_PROJECTION)] };
  }
}
