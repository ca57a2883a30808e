import { CommandHandler } from '@nestjs/cqrs';
import { TENANTS_PROJECTION, USERS_PROJECTION } from '../../../../projections/identity';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { hashPassword } from '../../crypto/password-hashing';
import { assertPasswordAcceptable } from '../../crypto/password-policy';
import { encryptPersonalField } from '../../crypto/personal-data';
import { claimDecider, emailClaimId } from '../../domain/claim';
import { userDecider } from '../../domain/user';
import { isValidEmail, normalizeEmail } from '../../domain/validation';
import { Clock } from '../../../platform/clock';
import { DataKeyStore } from '../../keys/data-key-store';
import { derivedId, stepContext } from '../context';
import { TenantsService } from '../tenants/tenants.service';
import { AccountDirectory } from './account-directory';

/** POST /auth/register: the email claimed, the user registered, their personal tenant created. */
export class RegisterAccount extends UseCaseCommand<{ userId: string }> {
  constructor(
    readonly input: { email: string; password: string; name: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RegisterAccount)
export class RegisterAccountHandler extends UseCaseHandler<RegisterAccount, { userId: string }> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly directory: AccountDirectory,
    private readonly dataKeys: DataKeyStore,
    private readonly tenants: TenantsService,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ input, ctx }: RegisterAccount): Promise<Handled<{ userId: string }>> {
    const email = normalizeEmail(input.email);
    if (!isValidEmail(email)) {
      throw AppError.validation('email must be a valid email address', [
        { path: 'email', message: 'must be a valid email address' },
      ]);
    }
    assertPasswordAcceptable(input.password, 'password', { email });
    const now = this.clock.now();
    const userId = derivedId(ctx, 'user');
    const hash = this.directory.lookupHash(email);
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
      return {
        result: { userId },
        written: [
          written(tenant.position, TENANTS_PROJECTION),
          written(registered.position, USERS_PROJECTION),
        ],
      };
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
  }
}
