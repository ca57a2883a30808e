import { CreateWebhookHandler } from './use-cases/create-webhook';
import { DeleteWebhookHandler } from './use-cases/delete-webhook';
import { Module } from '@nestjs/common';
import { EventsController } from './event-feed.controller';
import { IdentityModule } from '../identity/identity.module';
import type { ServerKeys } from '../identity/keys/server-keys';
import { SERVER_KEYS } from '../identity/identity.tokens';
import { DEFAULT_RETRY_POLICY } from './domain';
import { WEBHOOK_RETRY_POLICY, WEBHOOK_SECRETS, WebhookDispatcher } from './webhook-dispatcher';
import { WebhookSecrets } from './webhook-secrets';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** GET /events, /events/types; webhook subscriptions, signed deliveries and their log. */
@Module({
  imports: [IdentityModule],
  controllers: [WebhooksController, EventsController],
  providers: [
    {
      provide: WEBHOOK_SECRETS,
      inject: [SERVER_KEYS],
      useFactory: (keys: ServerKeys) => new WebhookSecrets(keys.masterKeyring.current.key),
    },
    { provide: WEBHOOK_RETRY_POLICY, useValue: DEFAULT_RETRY_POLICY },
    WebhookDispatcher,
    WebhooksService,
    CreateWebhookHandler,
    DeleteWebhookHandler,
  ],
  exports: [WebhookDispatcher, WebhooksService],
})
export class WebhooksModule {}
