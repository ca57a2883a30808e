import { CommandHandler } from '@nestjs/cqrs';
import { USERS_PROJECTION } from '../../../../projections/identity';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { hashOpaqueToken, parseOpaqueToken } from '../../crypto/opaque-tokens';
import { hashPassword } from '../../crypto/password-hashing';
import { assertPasswordAcceptable } from '../../crypto/password-policy';
import { userDecider } from '../../domain/user';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';

/** POST /auth/reset-password: a new password with a mailed reset token; every session ends. */
export class ResetPassword extends UseCaseCommand<void> {
  constructor(
    readonly token: string,
    readonly newPassword: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ResetPassword)
export class ResetPasswordHandler extends UseCaseHandler<ResetPassword, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ token, newPassword, ctx }: ResetPassword): Promise<Handled<void>> {
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
    return { result: undefined, written: [written(result.position, USERS_PROJECTION)] };
  }
}
