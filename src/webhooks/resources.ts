/** Webhook subscriptions as a resource family. */
import { audited, resourceKind } from '../platform/resources/resource-kind';
import { webhookDecider } from './domain/webhook';

export const WEBHOOKS = resourceKind(webhookDecider, {
  context: 'webhooks',
  family: 'webhook',
  readModel: 'webhooks',
  actions: {
    WEBHOOK_CREATE: 'A webhook subscription was created.',
    WEBHOOK_DELETE: 'A webhook subscription was deleted.',
    WEBHOOK_DISABLE: 'A webhook was disabled after repeated delivery failures.',
  },
  events: {
    WebhookCreated: audited('WEBHOOK_CREATE'),
    WebhookDeleted: audited('WEBHOOK_DELETE'),
    WebhookDisabled: audited('WEBHOOK_DISABLE'),
  },
});

export const WEBHOOK_RESOURCE_KINDS = [WEBHOOKS];
