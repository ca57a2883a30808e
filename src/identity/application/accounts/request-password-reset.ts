import { CommandHandler } from '@nestjs/cqrs';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { UseCaseCommand, UseCaseHandler, type Handled } from '../../../platform/commands/use-case';
import { generateOpaqueToken } from '../../crypto/opaque-tokens';
import { userDecider } from '../../domain/user';
import { isValidEmail, normalizeEmail } from '../../domain/validation';
import { Clock } from '../../../platform/clock';
import { MailOutbox } from '../../mail/mail-outbox';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { derivedId, stepContext } from '../context';
import { AccountDirectory } from './account-directory';

export const FORGOT_PASSWORD_MESSAGE = 'If the email exists, a reset token has been sent.';

/**
 * POST /auth/forgot-password: always answers the same way; mails a token only when the account
 * exists and may get one.
 */
export class RequestPasswordReset extends UseCaseCommand<void> {
  constructor(
    readonly email: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RequestPasswordReset)
export class RequestPasswordResetHandler extends UseCaseHandler<RequestPasswordReset, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly directory: AccountDirectory,
    private readonly mail: MailOutbox,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle(command: RequestPasswordReset): Promise<Handled<void>> {
    const nothing: Handled<void> = { result: undefined, written: [] };
    const { ctx } = command;
    const email = normalizeEmail(command.email);
    if (!isValidEmail(email)) return nothing;
    const row = await this.readModel.activeUserByEmailHash(this.directory.lookupHash(email));
    if (!row) return nothing;
    const reset = generateOpaqueToken('reset', row.id);
    const result = await this.executor.execute(
      userDecider,
      row.id,
      {
        type: 'IssueResetToken',
        tokenId: derivedId(ctx, 'reset-token'),
        tokenHash: reset.tokenHash,
        now: this.clock.now(),
      },
      stepContext(ctx, 'issue-reset', { actor: { type: 'system', id: 'password-reset' } }),
    );
    if (result.events.length === 0) return nothing;
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
    return nothing;
  }
}
