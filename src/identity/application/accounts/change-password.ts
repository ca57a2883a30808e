import { CommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../../../common/auth-context';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { UseCaseCommand, UseCaseHandler, type Handled } from '../../../platform/commands/use-case';
import { SignInThrottle } from '../../auth/sign-in-throttle';
import { hashPassword, verifyPassword } from '../../crypto/password-hashing';
import { assertPasswordAcceptable } from '../../crypto/password-policy';
import { CURRENT_PASSWORD_INCORRECT, userDecider } from '../../domain/user';
import { normalizeEmail } from '../../domain/validation';
import { Clock } from '../../../platform/clock';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { stepContext } from '../context';
import { AccountDirectory } from './account-directory';
import { Sessions, type OpenedSession } from './sessions';

export interface PasswordChangeResult extends OpenedSession {
  message: string;
}

/**
 * POST /me/password: verifies the current password (throttled like a sign-in; a wrong one is 401,
 * LoginFailed, and counts in the sign-in throttle), applies the policy to the new one, revokes
 * every session (JWTs, session keys, refresh tokens) and starts a new one for the caller, returned
 * like a login's. User API keys (`kind: user`) are not sessions and keep working.
 */
export class ChangePassword extends UseCaseCommand<PasswordChangeResult> {
  constructor(
    readonly auth: AuthContext,
    readonly input: { current_password: string; new_password: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ChangePassword)
export class ChangePasswordHandler extends UseCaseHandler<ChangePassword, PasswordChangeResult> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly directory: AccountDirectory,
    private readonly sessions: Sessions,
    private readonly throttle: SignInThrottle,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({
    auth,
    input,
    ctx,
  }: ChangePassword): Promise<Handled<PasswordChangeResult>> {
    const userId = auth.userId;
    const row = userId ? await this.readModel.user(userId) : null;
    if (!userId || !row) throw new AppError('unauthorized', 'the session has ended; sign in again');
    const email = (await this.directory.publicUser(row)).email;
    assertPasswordAcceptable(input.new_password, 'new_password', { email });
    const now = this.clock.now();
    const state = (await this.executor.load(userDecider, userId)).state;
    if (state.status !== 'active' || !state.passwordHash) {
      throw new AppError('unauthorized', 'the session has ended; sign in again');
    }
    const account = this.directory.lookupHash(normalizeEmail(email));
    this.throttle.admit(account, ctx.sourceIp);
    const verified = await verifyPassword(input.current_password, state.passwordHash);
    if (verified) this.throttle.succeeded(account, ctx.sourceIp);
    else this.throttle.failed(account, ctx.sourceIp);
    const tenantId = state.defaultTenantId;
    const step = { actor: { type: 'user' as const, id: userId }, tenantId };
    const draft = await this.sessions.draft(ctx, userId, tenantId, verified, now);
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
      stepContext(ctx, 'change-password', step),
    );
    if (result.events.some((e) => e.type === 'LoginFailed')) {
      throw new AppError('unauthorized', CURRENT_PASSWORD_INCORRECT, {
        fields: [{ path: 'current_password', message: 'is incorrect' }],
      });
    }
    // Old sessions die once the users read model has the new session version (the bus waits).
    const opened = await this.sessions.open(draft, result, { userId, tenantId, now, step, ctx });
    return {
      result: { message: 'password changed; every other session has ended', ...opened.session },
      written: opened.written,
    };
  }
}
