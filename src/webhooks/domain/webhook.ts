/**
 * The webhook subscription aggregate (stream `webhook-<id>`): created with its URL, event filter
 * and encrypted secret; deleted by its tenant; disabled by the dispatcher after repeated delivery
 * failures. Pure decide/evolve.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';

export const WEBHOOK_CATEGORY = 'webhook';

export interface CreateWebhook {
  type: 'CreateWebhook';
  webhookId: string;
  tenantId: string;
  url: string;
  /** Event types, `*`, or prefixes such as `Instance*`. */
  events: string[];
  isActive: boolean;
  /** The signing secret encrypted at rest (WebhookSecrets). */
  secretEnc: string;
  now: Date;
}

export interface DeleteWebhook {
  type: 'DeleteWebhook';
  now: Date;
}

export interface DisableWebhook {
  type: 'DisableWebhook';
  reason: string;
  consecutiveFailures: number;
  now: Date;
}

export type WebhookCommand = CreateWebhook | DeleteWebhook | DisableWebhook;

export type WebhookEvent =
  | {
      type: 'WebhookCreated';
      data: {
        webhookId: string;
        tenantId: string;
        url: string;
        events: string[];
        isActive: boolean;
        secretEnc: string;
        at: string;
      };
    }
  | { type: 'WebhookDeleted'; data: { webhookId: string; tenantId: string; at: string } }
  | {
      type: 'WebhookDisabled';
      data: {
        webhookId: string;
        tenantId: string;
        reason: string;
        consecutiveFailures: number;
        at: string;
      };
    };

export interface WebhookState {
  status: 'none' | 'active' | 'inactive' | 'deleted';
  webhookId: string | null;
  tenantId: string | null;
}

export function initialWebhookState(): WebhookState {
  return { status: 'none', webhookId: null, tenantId: null };
}

export function evolveWebhook(state: WebhookState, event: WebhookEvent): WebhookState {
  switch (event.type) {
    case 'WebhookCreated':
      return {
        status: event.data.isActive ? 'active' : 'inactive',
        webhookId: event.data.webhookId,
        tenantId: event.data.tenantId,
      };
    case 'WebhookDeleted':
      return { ...state, status: 'deleted' };
    case 'WebhookDisabled':
      return { ...state, status: 'inactive' };
    default:
      return state;
  }
}

export function decideWebhook(command: WebhookCommand, state: WebhookState): WebhookEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateWebhook') {
    if (state.status !== 'none') {
      // Same id again (a retried request): nothing new.
      return [];
    }
    return [
      {
        type: 'WebhookCreated',
        data: {
          webhookId: command.webhookId,
          tenantId: command.tenantId,
          url: command.url,
          events: [...command.events],
          isActive: command.isActive,
          secretEnc: command.secretEnc,
          at,
        },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'deleted' || state.webhookId === null) {
    throw AppError.notFound('webhook', state.webhookId ?? 'unknown');
  }
  const ids = { webhookId: state.webhookId, tenantId: state.tenantId as string };
  switch (command.type) {
    case 'DeleteWebhook':
      return [{ type: 'WebhookDeleted', data: { ...ids, at } }];
    case 'DisableWebhook':
      if (state.status === 'inactive') return [];
      return [
        {
          type: 'WebhookDisabled',
          data: {
            ...ids,
            reason: command.reason,
            consecutiveFailures: command.consecutiveFailures,
            at,
          },
        },
      ];
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

export const webhookDecider: Decider<WebhookCommand, WebhookEvent, WebhookState> = {
  category: WEBHOOK_CATEGORY,
  initialState: initialWebhookState,
  evolve: evolveWebhook,
  decide: decideWebhook,
};

/** Whether a subscription's filter takes an event type: exact, `*`, or a `Prefix*`. */
export function subscribes(filters: readonly string[], eventType: string): boolean {
  return filters.some((f) =>
    f === '*' ? true : f.endsWith('*') ? eventType.startsWith(f.slice(0, -1)) : f === eventType,
  );
}
