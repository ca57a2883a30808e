import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { subscribes, webhookDecider, type WebhookEvent } from './webhook';
import { WebhookSecrets } from '../webhook-secrets';

const now = new Date('2026-03-01T00:00:00Z');
const at = now.toISOString();
const ids = { webhookId: 'w1', tenantId: 't1' };
const created: WebhookEvent = {
  type: 'WebhookCreated',
  data: { ...ids, url: 'https://example.com/h', events: ['*'], isActive: true, secretEnc: 'x', at },
};
const create = {
  type: 'CreateWebhook' as const,
  ...ids,
  url: 'https://example.com/h',
  events: ['*'],
  isActive: true,
  secretEnc: 'x',
  now,
};

describe('webhook decider', () => {
  it('creates once; the same command again adds nothing', () => {
    spec(webhookDecider).given([]).when(create).then([created]);
    spec(webhookDecider).given([created]).when(create).then([]);
  });

  it('deletes; a deleted or unknown webhook is not found', () => {
    spec(webhookDecider)
      .given([created])
      .when({ type: 'DeleteWebhook', now })
      .then([{ type: 'WebhookDeleted', data: { ...ids, at } }]);
    const deleted: WebhookEvent = { type: 'WebhookDeleted', data: { ...ids, at } };
    spec(webhookDecider)
      .given([created, deleted])
      .when({ type: 'DeleteWebhook', now })
      .thenThrows('not_found');
    spec(webhookDecider).given([]).when({ type: 'DeleteWebhook', now }).thenThrows('not_found');
  });

  it('disables an active webhook once', () => {
    const disable = { type: 'DisableWebhook' as const, reason: 'r', consecutiveFailures: 20, now };
    const disabled: WebhookEvent = {
      type: 'WebhookDisabled',
      data: { ...ids, reason: 'r', consecutiveFailures: 20, at },
    };
    spec(webhookDecider).given([created]).when(disable).then([disabled]);
    spec(webhookDecider).given([created, disabled]).when(disable).then([]);
  });

  it('matches event filters: exact, prefix*, *', () => {
    expect(subscribes(['InstanceStarted'], 'InstanceStarted')).toBe(true);
    expect(subscribes(['InstanceStarted'], 'InstanceStopped')).toBe(false);
    expect(subscribes(['Instance*'], 'InstanceStopped')).toBe(true);
    expect(subscribes(['Volume*'], 'InstanceStopped')).toBe(false);
    expect(subscribes(['*'], 'Anything')).toBe(true);
  });

  it('encrypts secrets bound to the webhook id', () => {
    const secrets = new WebhookSecrets(Buffer.alloc(32, 7));
    const sealed = secrets.encrypt('w1', 'top-secret-value');
    expect(sealed).not.toContain('top-secret');
    expect(secrets.decrypt('w1', sealed)).toBe('top-secret-value');
    expect(() => secrets.decrypt('w2', sealed)).toThrow();
  });
});
