import { newId } from '../../common/ids';
import type { CommandContext } from '../../kernel/command-context';

/** The context of a command Nimbus issues itself (reconciler, importer, termination worker). */
export function systemContext(
  who: string,
  tenantId: string | null,
  correlationId: string = newId(),
): CommandContext {
  return {
    commandId: newId(),
    tenantId,
    actor: { type: 'system', id: who },
    requestId: null,
    sourceIp: null,
    correlationId,
    causationId: null,
    now: new Date(),
  };
}

/** A sub-command of `ctx` (another stream) with its own deterministic command id. */
export function derivedContext(ctx: CommandContext, purpose: string): CommandContext {
  const { ifMatch: _ignored, ...rest } = ctx;
  return { ...rest, commandId: `${ctx.commandId}/${purpose}` };
}
