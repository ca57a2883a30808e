import { Inject, Injectable } from '@nestjs/common';
import { API_KEYS_PROJECTION, USERS_PROJECTION } from '../../../../projections/identity';
import { AppError } from '../../../common/errors/app-error';
import type { AppConfig } from '../../../config/config';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import type { Position } from '../../../kernel/position';
import { written, type Written } from '../../../platform/commands/use-case';
import { APP_CONFIG } from '../../../platform/tokens';
import { AccessTokens } from '../../auth/access-tokens';
import { generateApiKey } from '../../crypto/api-key-format';
import { generateOpaqueToken } from '../../crypto/opaque-tokens';
import { apiKeyDecider } from '../../domain/api-key';
import { SERVER_KEYS } from '../../identity.tokens';
import { Clock } from '../../../platform/clock';
import type { ServerKeys } from '../../keys/server-keys';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { derivedId, stepContext } from '../context';

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export interface SessionTokens {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** The tokens of a newly opened session: access and refresh tokens and the session API key. */
export interface OpenedSession extends SessionTokens {
  api_key: string | null;
}

/** What a sign-in or password change asks the user decider to record, before it is opened. */
export interface SessionDraft {
  refreshToken: string;
  sessionKeyId: string | null;
  session: {
    familyId: string;
    tokenId: string;
    tokenHash: string;
    expiresAt: Date;
    sessionKeyId: string | null;
  };
}

/** The acting user of a session's steps. */
export interface UserStep {
  actor: { type: 'user'; id: string };
  tenantId: string | null;
}

/**
 * Sessions, as sign-in, password change, refresh and sign-out share them: the draft recorded by
 * the user decider, the session API key minted or revoked, the access token issued. The writes
 * each returns are what the next request reads (the keys and users read models); the use case
 * hands them to the command bus, which waits for them before answering.
 */
@Injectable()
export class Sessions {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The new session a sign-in or password change asks the user decider to record: a refresh-token
   * family, and the id of the session API key when one may be minted (recorded with the family,
   * so that logout can end both).
   */
  async draft(
    ctx: CommandContext,
    userId: string,
    tenantId: string | null,
    verified: boolean,
    now: Date,
  ): Promise<SessionDraft> {
    const refresh = generateOpaqueToken('refresh', userId);
    const sessionKeyId =
      verified && (await this.mayMintSessionKey(userId, tenantId))
        ? derivedId(ctx, 'session-key')
        : null;
    return {
      refreshToken: refresh.token,
      sessionKeyId,
      session: {
        familyId: derivedId(ctx, 'refresh-family'),
        tokenId: derivedId(ctx, 'refresh-token'),
        tokenHash: refresh.tokenHash,
        expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
        sessionKeyId,
      },
    };
  }

  /**
   * Mints the session key and issues the access token of a recorded session. The writes name the
   * keys and users read models, so both work on the very next request.
   */
  async open(
    draft: SessionDraft,
    recorded: { state: { sessionVersion: number }; position: Position | null },
    at: { userId: string; tenantId: string | null; now: Date; step: UserStep; ctx: CommandContext },
  ): Promise<{ session: OpenedSession; written: Written[] }> {
    const { userId, tenantId, now, step, ctx } = at;
    const sessionVersion = recorded.state.sessionVersion;
    const sessionKey =
      draft.sessionKeyId && tenantId
        ? await this.mintSessionKey(
            { keyId: draft.sessionKeyId, userId, tenantId, sessionVersion, now },
            stepContext(ctx, 'session-key', step),
          )
        : null;
    const access = await this.tokens.issue({ userId, sessionVersion });
    return {
      session: {
        api_key: sessionKey?.key ?? null,
        access_token: access.token,
        refresh_token: draft.refreshToken,
        token_type: 'Bearer',
        expires_in: access.expiresInSeconds,
      },
      written: [
        written(sessionKey?.position ?? null, API_KEYS_PROJECTION),
        written(recorded.position, USERS_PROJECTION),
      ],
    };
  }

  /** A session key is minted in the user's default tenant, if they are still a member there. */
  private async mayMintSessionKey(userId: string, tenantId: string | null): Promise<boolean> {
    return tenantId !== null && (await this.readModel.membership(tenantId, userId)) !== null;
  }

  /** The API key of a session: expires (NIMBUS_SESSION_KEY_TTL) and dies with sessionVersion. */
  private async mintSessionKey(
    input: { keyId: string; userId: string; tenantId: string; sessionVersion: number; now: Date },
    ctx: CommandContext,
  ): Promise<{ key: string; position: Position | null }> {
    const generated = generateApiKey(this.keys.apiKeyPepper);
    const created = await this.executor.execute(
      apiKeyDecider,
      input.keyId,
      {
        type: 'CreateApiKey',
        keyId: input.keyId,
        userId: input.userId,
        tenantId: input.tenantId,
        name: `session ${input.now.toISOString()}`,
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        kind: 'session',
        expiresAt: new Date(input.now.getTime() + this.config.sessionKeyTtlMs),
        sessionVersion: input.sessionVersion,
        now: input.now,
      },
      ctx,
    );
    return { key: generated.key, position: created.position };
  }

  /**
   * Revokes the session key of an ended refresh-token family; the write names the keys read model
   * (the key is 401 on the next request). A key already revoked is fine (repeated logout).
   */
  async endSessionKey(keyId: string, userId: string, ctx: CommandContext): Promise<Written> {
    const revoked = await this.executor
      .execute(
        apiKeyDecider,
        keyId,
        { type: 'RevokeApiKey', reason: 'session_ended', now: this.clock.now() },
        stepContext(ctx, 'end-session-key', { actor: { type: 'user', id: userId } }),
      )
      .catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'not_found') return null;
        throw err;
      });
    return written(revoked?.position ?? null, API_KEYS_PROJECTION);
  }
}
