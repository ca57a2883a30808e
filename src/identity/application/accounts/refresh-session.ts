import { CommandHandler } from '@nestjs/cqrs';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  type Handled,
  type Written,
} from '../../../platform/commands/use-case';
import { AccessTokens } from '../../auth/access-tokens';
import { generateOpaqueToken, hashOpaqueToken, parseOpaqueToken } from '../../crypto/opaque-tokens';
import { userDecider, userRejection } from '../../domain/user';
import { Clock } from '../../../platform/clock';
import { derivedId, stepContext } from '../context';
import { REFRESH_TOKEN_TTL_MS, Sessions, type SessionTokens } from './sessions';

/**
 * POST /auth/refresh: rotates a refresh token (new access + refresh pair). A reused token revokes
 * its family and the family's session key, and is 401 once the key is dead.
 */
export class RefreshSession extends UseCaseCommand<SessionTokens> {
  constructor(
    readonly refreshToken: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RefreshSession)
export class RefreshSessionHandler extends UseCaseHandler<RefreshSession, SessionTokens> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sessions: Sessions,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ refreshToken, ctx }: RefreshSession): Promise<Handled<SessionTokens>> {
    const parsed = parseOpaqueToken('refresh', refreshToken);
    if (!parsed) throw new AppError('unauthorized', 'the refresh token is invalid or has expired');
    const userId = parsed.subjectId;
    const next = generateOpaqueToken('refresh', userId);
    const now = this.clock.now();
    const result = await this.executor.execute(
      userDecider,
      userId,
      {
        type: 'RefreshSession',
        presentedTokenHash: hashOpaqueToken(refreshToken),
        next: {
          tokenId: derivedId(ctx, 'refresh-token'),
          tokenHash: next.tokenHash,
          expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
        },
        now,
      },
      stepContext(ctx, 'refresh', { actor: { type: 'user', id: userId } }),
    );
    const rejection = userRejection(result.events);
    if (rejection) {
      // A replayed token revoked its family: the family's session key goes with it.
      const ended: Written[] = [];
      for (const event of result.events) {
        if (event.type === 'RefreshTokenFamilyRevoked' && event.data.sessionKeyId) {
          ended.push(await this.sessions.endSessionKey(event.data.sessionKeyId, userId, ctx));
        }
      }
      return { rejected: rejection, written: ended };
    }
    const access = await this.tokens.issue({ userId, sessionVersion: result.state.sessionVersion });
    return {
      result: {
        access_token: access.token,
        refresh_token: next.token,
        token_type: 'Bearer',
        expires_in: access.expiresInSeconds,
      },
      written: [],
    };
  }
}
