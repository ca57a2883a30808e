import { CommandHandler } from '@nestjs/cqrs';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { UseCaseCommand, UseCaseHandler, type Handled } from '../../../platform/commands/use-case';
import { hashOpaqueToken, parseOpaqueToken } from '../../crypto/opaque-tokens';
import { sessionKeyOfRefreshToken, userDecider } from '../../domain/user';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';
import { Sessions } from './sessions';

/**
 * POST /auth/logout: ends the session of a refresh token, its family (RefreshTokenFamilyRevoked)
 * and the API key minted at that login (ApiKeyRevoked `session_ended`), answering once the key is
 * dead. The key is looked up in the user's state after the command, so a logout repeated after a
 * crash between the two appends still revokes it. Only the short-lived JWT outlives the logout.
 */
export class SignOut extends UseCaseCommand<void> {
  constructor(
    readonly refreshToken: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(SignOut)
export class SignOutHandler extends UseCaseHandler<SignOut, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sessions: Sessions,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ refreshToken, ctx }: SignOut): Promise<Handled<void>> {
    const parsed = parseOpaqueToken('refresh', refreshToken);
    if (!parsed) return { result: undefined, written: [] };
    const userId = parsed.subjectId;
    const presentedTokenHash = hashOpaqueToken(refreshToken);
    const result = await this.executor.execute(
      userDecider,
      userId,
      { type: 'Logout', presentedTokenHash, now: this.clock.now() },
      stepContext(ctx, 'logout', { actor: { type: 'user', id: userId } }),
    );
    const keyId = sessionKeyOfRefreshToken(result.state, presentedTokenHash);
    const written = keyId ? [await this.sessions.endSessionKey(keyId, userId, ctx)] : [];
    return { result: undefined, written };
  }
}
