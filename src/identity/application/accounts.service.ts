/**
 * Accounts: registration (user + personal tenant), sign-in (JWT + refresh token + session API
 * key), refresh rotation with reuse detection, password reset through the mail outbox, sign-out
 * and "who am I". Thin orchestration around the user, tenant, claim and API key deciders.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import type { AuthContext } from '../../common/auth-context';
import type { AppConfig } from '../../config/config';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { APP_CONFIG } from '../../platform/tokens';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import {
  API_KEYS_PROJECTION,
  TENANTS_PROJECTION,
  USERS_PROJECTION,
} from '../../../projections/identity';
import { generateApiKey } from '../crypto/api-key-format';
import { generateOpaqueToken, hashOpaqueToken, parseOpaqueToken } from '../crypto/opaque-tokens';
import {
  hashPassword,
  needsRehash,
  verifyPassword,
  verifyPasswordForUnknownUser,
} from '../crypto/password-hashing';
import { assertPasswordAcceptable } from '../crypto/password-policy';
import {
  emailLookupHash,
  encryptPersonalField,
  revealPersonalField,
} from '../crypto/personal-data';
import { apiKeyDecider } from '../domain/api-key';
import { claimDecider, emailClaimId } from '../domain/claim';
import {
  CURRENT_PASSWORD_INCORRECT,
  INVALID_CREDENTIALS,
  sessionKeyOfRefreshToken,
  userDecider,
  userRejection,
  type UserState,
} from '../domain/user';
import { isValidEmail, normalizeEmail } from '../domain/validation';
import { AccessTokens } from '../auth/access-tokens';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { IdentityClock, SERVER_KEYS } from '../identity.tokens';
import { DataKeyStore } from '../keys/data-key-store';
import type { ServerKeys } from '../keys/server-keys';
import { MailOutbox } from '../mail/mail-outbox';
import { IdentityReadModel, type UserRow } from '../read-model/identity-read-model';
import { derivedId, stepContext } from './context';
import { TenantsService } from './tenants.service';

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const FORGOT_PASSWORD_MESSAGE = 'If the email exists, a reset token has been sent.';

export interface SessionTokens {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface LoginResult extends SessionTokens {
  user: { id: string; email: string; name: string };
  api_key: string | null;
}

export interface PasswordChangeResult extends SessionTokens {
  message: string;
  api_key: string | null;
}

/** The tokens of a newly opened session: access and refresh tokens and the session API key. */
interface OpenedSession extends SessionTokens {
  api_key: string | null;
}

/** What a sign-in or password change asks the user decider to record, before it is opened. */
interface SessionDraft {
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

export interface PublicUser {
  id: string;
  email: string;
  name: string;
}

@Injectable()
export class AccountsService {
  private readonly logger = new Logger('identity');

  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly dataKeys: DataKeyStore,
    private readonly tokens: AccessTokens,
    private readonly tenants: TenantsService,
    private readonly waiter: ProjectionWaiter,
    private readonly mail: MailOutbox,
    private readonly clock: IdentityClock,
    private readonly throttle: SignInThrottle,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private lookupHash(normalizedEmail: string): string {
    return emailLookupHash(normalizedEmail, this.keys.emailLookupPepper);
  }

  /** Waits for the projections the next request reads; past the bound the write still stands. */
  private async settle(position: Position | null, projections: string[]): Promise<void> {
    if (position)
      await this.waiter.waitFor(position, projections, this.waiter.readYourWritesTimeoutMs);
  }

  async register(
    input: { email: string; password: string; name: string },
    ctx: CommandContext,
  ): Promise<{ userId: string }> {
    const email = normalizeEmail(input.email);
    if (!isValidEmail(email)) {
      throw AppError.validation('email must be a valid email address', [
        { path: 'email', message: 'must be a valid email address' },
      ]);
    }
    assertPasswordAcceptable(input.password, 'password', { email });
    const now = this.clock.now();
    const userId = derivedId(ctx, 'user');
    const hash = this.lookupHash(email);
    const userCtx = { actor: { type: 'user' as const, id: userId } };
    const passwordHash = await hashPassword(input.password);

    const claimId = emailClaimId(hash);
    await this.executor.execute(
      claimDecider,
      claimId,
      { type: 'ClaimValue', claimId, ownerId: userId, now },
      stepContext(ctx, 'claim-email', userCtx),
    );
    try {
      const dataKey = await this.dataKeys.getOrCreate(userId);
      const tenantId = derivedId(ctx, 'personal-tenant');
      const registered = await this.executor.execute(
        userDecider,
        userId,
        {
          type: 'RegisterUser',
          userId,
          email,
          name: input.name,
          encryptedEmail: encryptPersonalField(dataKey, email, {
            subjectId: userId,
            field: 'email',
          }),
          encryptedName: encryptPersonalField(dataKey, input.name.trim(), {
            subjectId: userId,
            field: 'name',
          }),
          emailLookupHash: hash,
          passwordHash,
          defaultTenantId: tenantId,
          now,
        },
        stepContext(ctx, 'register', { ...userCtx, tenantId }),
      );
      const tenant = await this.tenants.createPersonalTenant(userId, tenantId, ctx);
      await Promise.all([
        this.settle(tenant.position, [TENANTS_PROJECTION]),
        this.settle(registered.position, [USERS_PROJECTION]),
      ]);
    } catch (err) {
      // Nothing else may hold this email's claim for a user that was never created.
      const user = await this.executor.load(userDecider, userId);
      if (!user.exists) {
        await this.executor
          .execute(
            claimDecider,
            claimId,
            { type: 'ReleaseValue', claimId, ownerId: userId, now },
            stepContext(ctx, 'release-email', userCtx),
          )
          .catch(() => undefined);
      }
      throw err;
    }
    return { userId };
  }

  /**
   * Sign-in, throttled per (email, client address) before any password is checked (see
   * domain/sign-in-throttle.ts). An unknown email takes the same steps, costs the same scrypt,
   * counts in the throttle the same way and gets the same answers as a wrong password; the
   * LoginFailed of a known account is appended after the answer, so that no write tells them apart.
   */
  async login(
    input: { email: string; password: string },
    ctx: CommandContext,
  ): Promise<LoginResult> {
    const email = normalizeEmail(input.email);
    const account = this.lookupHash(email);
    this.throttle.admit(account, ctx.sourceIp);
    const row = isValidEmail(email) ? await this.readModel.activeUserByEmailHash(account) : null;
    const now = this.clock.now();
    const loaded = await this.executor.load(userDecider, row?.id ?? derivedId(ctx, 'no-user'));
    const state = loaded.state;
    if (!row || state.status !== 'active' || !state.passwordHash) {
      await verifyPasswordForUnknownUser(input.password);
      this.throttle.failed(account, ctx.sourceIp);
      throw new AppError('unauthorized', INVALID_CREDENTIALS);
    }
    const userId = row.id;
    const verified = await verifyPassword(input.password, state.passwordHash);
    const tenantId = state.defaultTenantId;
    const userCtx = { actor: { type: 'user' as const, id: userId }, tenantId };
    const draft = await this.draftSession(ctx, userId, tenantId, verified, now);
    const login = (passwordVerified: boolean, upgradedPasswordHash?: string) =>
      this.executor.execute(
        userDecider,
        userId,
        { type: 'Login', passwordVerified, session: draft.session, upgradedPasswordHash, now },
        stepContext(ctx, 'login', userCtx),
      );
    if (!verified) {
      this.throttle.failed(account, ctx.sourceIp);
      login(false).catch((err: unknown) =>
        this.logger.warn(`a failed sign-in of user ${userId} was not recorded: ${String(err)}`),
      );
      throw new AppError('unauthorized', INVALID_CREDENTIALS);
    }
    this.throttle.succeeded(account, ctx.sourceIp);
    const result = await login(
      true,
      needsRehash(state.passwordHash) ? await hashPassword(input.password) : undefined,
    );
    const session = await this.openSession(draft, result, { userId, tenantId, now, userCtx, ctx });
    return { user: await this.publicUser(row), ...session };
  }

  /**
   * The new session a sign-in or password change asks the user decider to record: a refresh-token
   * family, and the id of the session API key when one may be minted (recorded with the family,
   * so that logout can end both).
   */
  private async draftSession(
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
   * Mints the session key, waits until the key and the user's new session version are in the read
   * models (so both work on the very next request), then issues the access token.
   */
  private async openSession(
    draft: SessionDraft,
    recorded: { state: { sessionVersion: number }; position: Position | null },
    at: {
      userId: string;
      tenantId: string | null;
      now: Date;
      userCtx: { actor: { type: 'user'; id: string }; tenantId: string | null };
      ctx: CommandContext;
    },
  ): Promise<OpenedSession> {
    const { userId, tenantId, now, userCtx, ctx } = at;
    const sessionVersion = recorded.state.sessionVersion;
    const sessionKey =
      draft.sessionKeyId && tenantId
        ? await this.mintSessionKey(
            { keyId: draft.sessionKeyId, userId, tenantId, sessionVersion, now },
            stepContext(ctx, 'session-key', userCtx),
          )
        : null;
    await Promise.all([
      this.settle(sessionKey?.position ?? null, [API_KEYS_PROJECTION]),
      this.settle(recorded.position, [USERS_PROJECTION]),
    ]);
    const access = await this.tokens.issue({ userId, sessionVersion });
    return {
      api_key: sessionKey?.key ?? null,
      access_token: access.token,
      refresh_token: draft.refreshToken,
      token_type: 'Bearer',
      expires_in: access.expiresInSeconds,
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
   * Revokes the session key of an ended refresh-token family and waits until the keys read model
   * has it (the key is 401 on the next request). A key already revoked is fine (repeated logout).
   */
  private async endSessionKey(keyId: string, userId: string, ctx: CommandContext): Promise<void> {
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
    if (revoked) await this.settle(revoked.position, [API_KEYS_PROJECTION]);
  }

  async refresh(refreshToken: string, ctx: CommandContext): Promise<SessionTokens> {
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
      for (const event of result.events) {
        if (event.type === 'RefreshTokenFamilyRevoked' && event.data.sessionKeyId) {
          await this.endSessionKey(event.data.sessionKeyId, userId, ctx);
        }
      }
      throw rejection;
    }
    const access = await this.tokens.issue({ userId, sessionVersion: result.state.sessionVersion });
    return {
      access_token: access.token,
      refresh_token: next.token,
      token_type: 'Bearer',
      expires_in: access.expiresInSeconds,
    };
  }

  /**
   * Ends the session of a refresh token: its family (RefreshTokenFamilyRevoked) and the API key
   * minted at that login (ApiKeyRevoked `session_ended`), answering once the key is dead. The
   * key is looked up in the user's state after the command, so a logout repeated after a crash
   * between the two appends still revokes it. Only the short-lived JWT outlives the logout.
   */
  async logout(refreshToken: string, ctx: CommandContext): Promise<void> {
    const parsed = parseOpaqueToken('refresh', refreshToken);
    if (!parsed) return;
    const userId = parsed.subjectId;
    const presentedTokenHash = hashOpaqueToken(refreshToken);
    const result = await this.executor.execute(
      userDecider,
      userId,
      { type: 'Logout', presentedTokenHash, now: this.clock.now() },
      stepContext(ctx, 'logout', { actor: { type: 'user', id: userId } }),
    );
    const keyId = sessionKeyOfRefreshToken(result.state, presentedTokenHash);
    if (keyId) await this.endSessionKey(keyId, userId, ctx);
  }

  /**
   * POST /me/password: verifies the current password (throttled like a sign-in; a wrong one is
   * 401, LoginFailed, and counts in the sign-in throttle), applies the policy to the new one, revokes every session (JWTs, session keys,
   * refresh tokens) and starts a new one for the caller, returned like a login's. User API keys
   * (`kind: user`) are not sessions and keep working.
   */
  async changePassword(
    auth: AuthContext,
    input: { current_password: string; new_password: string },
    ctx: CommandContext,
  ): Promise<PasswordChangeResult> {
    const userId = auth.userId;
    const row = userId ? await this.readModel.user(userId) : null;
    if (!userId || !row) throw new AppError('unauthorized', 'the session has ended; sign in again');
    const email = (await this.publicUser(row)).email;
    assertPasswordAcceptable(input.new_password, 'new_password', { email });
    const now = this.clock.now();
    const state = (await this.executor.load(userDecider, userId)).state;
    if (state.status !== 'active' || !state.passwordHash) {
      throw new AppError('unauthorized', 'the session has ended; sign in again');
    }
    const account = this.lookupHash(normalizeEmail(email));
    this.throttle.admit(account, ctx.sourceIp);
    const verified = await verifyPassword(input.current_password, state.passwordHash);
    if (verified) this.throttle.succeeded(account, ctx.sourceIp);
    else this.throttle.failed(account, ctx.sourceIp);
    const tenantId = state.defaultTenantId;
    const userCtx = { actor: { type: 'user' as const, id: userId }, tenantId };
    const draft = await this.draftSession(ctx, userId, tenantId, verified, now);
    const result = await this.executor.execute(
      userDecider,
      userId,
      {
        type: 'ChangePassword',
        currentPasswordVerified: verified,
        newPasswordHash: verified ? await hashPassword(input.new_password) : '',
        session: draft.session,
        now,
      },
      stepContext(ctx, 'change-password', userCtx),
    );
    if (result.events.some((e) => e.type === 'LoginFailed')) {
      throw new AppError('unauthorized', CURRENT_PASSWORD_INCORRECT, {
        fields: [{ path: 'current_password', message: 'is incorrect' }],
      });
    }
    // Old sessions die once the users read model has the new session version: openSession waits.
    const session = await this.openSession(draft, result, { userId, tenantId, now, userCtx, ctx });
    return { message: 'password changed; every other session has ended', ...session };
  }

  /** Always succeeds the same way; mails a token only when the account exists and may get one. */
  async forgotPassword(rawEmail: string, ctx: CommandContext): Promise<void> {
    const email = normalizeEmail(rawEmail);
    if (!isValidEmail(email)) return;
    const row = await this.readModel.activeUserByEmailHash(this.lookupHash(email));
    if (!row) return;
    const reset = generateOpaqueToken('reset', row.id);
    const now = this.clock.now();
    const result = await this.executor.execute(
      userDecider,
      row.id,
      {
        type: 'IssueResetToken',
        tokenId: derivedId(ctx, 'reset-token'),
        tokenHash: reset.tokenHash,
        now,
      },
      stepContext(ctx, 'issue-reset', { actor: { type: 'system', id: 'password-reset' } }),
    );
    if (result.events.length === 0) return;
    this.mail.send({
      to: email,
      subject: 'Reset your Nimbus password',
      text: [
        'Someone asked to reset the password of your Nimbus account.',
        '',
        'If it was you, send this token to POST /auth/reset-password within 30 minutes:',
        '',
        `Reset-Token: ${reset.token}`,
        '',
        'If it was not you, ignore this message; your password stays as it is.',
      ].join('\n'),
    });
  }

  async resetPassword(token: string, newPassword: string, ctx: CommandContext): Promise<void> {
    const invalid = AppError.validation('the reset token is invalid or has expired', [
      { path: 'token', message: 'is invalid or has expired' },
    ]);
    const parsed = parseOpaqueToken('reset', token);
    if (!parsed) throw invalid;
    assertPasswordAcceptable(newPassword, 'new_password');
    const userId = parsed.subjectId;
    const loaded = await this.executor.load(userDecider, userId);
    if (loaded.state.status !== 'active') throw invalid;
    const result = await this.executor.execute(
      userDecider,
      userId,
      {
        type: 'ResetPassword',
        tokenHash: hashOpaqueToken(token),
        newPasswordHash: await hashPassword(newPassword),
        now: this.clock.now(),
      },
      stepContext(ctx, 'reset-password', { actor: { type: 'user', id: userId } }),
    );
    // The guard reads session versions from the users read model: old sessions die on answer.
    await this.settle(result.position, [USERS_PROJECTION]);
  }

  async me(auth: AuthContext): Promise<{
    user: PublicUser;
    tenant: { id: string; name: string; slug: string } | null;
    roles: string[];
    credential: { type: 'jwt' | 'api_key'; api_key_id: string | null };
  }> {
    const row = auth.userId ? await this.readModel.user(auth.userId) : null;
    if (!row) throw new AppError('unauthorized', 'the session has ended; sign in again');
    const tenant = auth.tenantId ? await this.readModel.tenant(auth.tenantId) : null;
    return {
      user: await this.publicUser(row),
      tenant: tenant ? { id: tenant.id, name: tenant.name, slug: tenant.slug } : null,
      roles: auth.roles,
      credential: {
        type: auth.apiKeyId ? 'api_key' : 'jwt',
        api_key_id: auth.apiKeyId ?? null,
      },
    };
  }

  /** Decrypts a user's personal fields; `[erased]` once the data key is gone. */
  async publicUser(row: UserRow): Promise<PublicUser> {
    const key = row.status === 'active' ? await this.dataKeys.get(row.id) : null;
    const reveal = (field: string | null, name: string) =>
      field === null
        ? revealPersonalField(null, '', { subjectId: row.id, field: name })
        : revealPersonalField(key, field, { subjectId: row.id, field: name });
    return {
      id: row.id,
      email: reveal(row.email_enc, 'email'),
      name: reveal(row.name_enc, 'name'),
    };
  }

  /**
   * Erases a person (for the data-subject requests of a later issue): UserErased first, then the
   * data key is destroyed (crypto-shredding: every event's email and name become `[erased]`), and
   * the email claim is released so the address may register again. A crash between the append and
   * the deletion is finished at start-up (DataKeyStore.destroyKeysOfErasedUsers).
   */
  async erase(userId: string, ctx: CommandContext): Promise<void> {
    const now = this.clock.now();
    const row = await this.readModel.user(userId);
    const result = await this.executor.execute(
      userDecider,
      userId,
      { type: 'EraseUser', now },
      stepContext(ctx, 'erase-user'),
    );
    await this.dataKeys.destroy(userId);
    if (row?.email_lookup_hash) {
      const claimId = emailClaimId(row.email_lookup_hash);
      await this.executor.execute(
        claimDecider,
        claimId,
        { type: 'ReleaseValue', claimId, ownerId: userId, now },
        stepContext(ctx, 'release-email'),
      );
    }
    await this.settle(result.position, [USERS_PROJECTION]);
  }

  /** For handlers that need the write-side state (tests). */
  async userState(userId: string): Promise<UserState> {
    return (await this.executor.load(userDecider, userId)).state;
  }

  /** What administrators see of a member's sign-ins (GET /tenants/:id/members). */
  signInActivity(row: UserRow): { failures: number; slowed: boolean } {
    return row.email_lookup_hash
      ? this.throttle.accountView(row.email_lookup_hash)
      : { failures: 0, slowed: false };
  }
}
