import { uuidV5 } from '../../common/ids';
import type { CommandContext } from '../../kernel/command-context';

/**
 * The context of one step of a request that writes several streams: its own command id (derived,
 * so a retried request derives the same ids and its events keep theirs), other fields overridden.
 */
export function stepContext(
  ctx: CommandContext,
  step: string,
  overrides: Partial<CommandContext> = {},
): CommandContext {
  const { ifMatch: _ignored, ...rest } = ctx;
  return { ...rest, commandId: uuidV5(`${ctx.commandId}/${step}`), ...overrides };
}

/** An id derived from the request's command id (stable across retries of the same request). */
export function derivedId(ctx: CommandContext, what: string): string {
  return uuidV5(`${ctx.commandId}/id/${what}`);
}
