import { Logger } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { UseCaseCommand, UseCaseHandler, type Handled } from '../../../platform/commands/use-case';
import { SignInThrottle } from '../../auth/sign-in-throttle';
import {
  hashPassword,
  needsRehash,
  verifyPassword,
  verifyPasswordForUnknownUser,
} from '../../crypto/password-hashing';
import { INVALID_CREDENTIALS, userDecider } from '../../domain/user';
import { isValidEmail, normalizeEmail } from '../../domain/validation';
import { Clock } from '../../../platform/clock';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { derivedId, stepContext } from '../context';
import { AccountDirectory, type PublicUser } from './account-directory';
import { Sessions, type OpenedSession } from './sessions';

export interface LoginResult extends OpenedSession {
  user: PublicUser;
}

/**
 * POST /auth/login, throttled per (email, client address) before any password is checked (see
 * domain/sign-in-throttle.ts). An unknown email takes the same steps, costs the same scrypt,
 * counts in the throttle the same way and gets the same answers as a wrong password; the
 * LoginFailed of a known account is appended after the answer, so that no write tells them apart.
 */
export class SignIn extends UseCaseCommand<LoginResult> {
  constructor(
    readonly input: { email: string; password: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(SignIn)
export class SignInHandler extends UseCaseHandler<SignIn, LoginResult> {
  private readonly logger = new Logger('identity');

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

  protected async handle({ input, ctx }: SignIn): Promise<Handled<LoginResult>> {
    const email = normalizeEmail(input.email);
    const account = this.directory.lookupHash(email);
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
    const step = { actor: { type: 'user' as const, id: userId }, tenantId };
    const draft = await this.sessions.draft(ctx, userId, tenantId, verified, now);
    const login = (passwordVerified: boolean, upgradedPasswordHash?: string) =>
      this.executor.execute(
        userDecider,
        userId,
        { type: 'Login', passwordVerified, session: draft.session, upgradedPasswordHash, now },
        stepContext(ctx, 'login', step),
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
    const opened = await this.sessions.open(draft, result, { userId, tenantId, now, step, ctx });
    return {
      result: { user: await this.directory.publicUser(row), ...opened.session },
      written: opened.written,
    };
  }
}
