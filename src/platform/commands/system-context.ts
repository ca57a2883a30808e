import { newId, uuidV5 } from '../../common/ids';
import type { CommandContext } from '../../kernel/command-context';

export interface SystemContextOptions {
  tenantId?: string | null;
  /** Stable when the command must not append twice when it runs again (a saga step). */
  commandId?: string;
  correlationId?: string;
  causationId?: string | null;
  /** When the command is issued; an injected Clock's `now()` in application code. */
  now?: Date;
}

/**
 * The context of a command Nimbus issues itself (a saga step, a reconciler, a worker, start-up
 * seeding): actor `{type: 'system', id: who}`, no request, no source address.
 *
 *   systemContext('compute-reconciler', { tenantId, now: this.clock.now() })
 */
export function systemContext(who: string, options: SystemContextOptions = {}): CommandContext {
  return {
    commandId: options.commandId ?? newId(),
    tenantId: options.tenantId ?? null,
    actor: { type: 'system', id: who },
    requestId: null,
    sourceIp: null,
    correlationId: options.correlationId ?? newId(),
    causationId: options.causationId ?? null,
    now: options.now ?? new Date(),
  };
}

/**
 * A sub-command of `ctx` on another stream (a quota reservation for a launch): same actor, tenant
 * and correlation, its own deterministic command id, and no If-Match (that was for the first
 * stream). A retried request derives the same id, so its sub-commands do not append twice.
 */
export function derivedContext(
  ctx: CommandContext,
  purpose: string,
  overrides: Partial<Omit<CommandContext, 'commandId' | 'ifMatch'>> = {},
): CommandContext {
  const { ifMatch: _ignored, ...rest } = ctx;
  return { ...rest, ...overrides, commandId: uuidV5(`${ctx.commandId}/${purpose}`) };
}
