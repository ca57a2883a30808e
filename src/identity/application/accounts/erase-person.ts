import { CommandHandler } from '@nestjs/cqrs';
import { USERS_PROJECTION } from '../../../../projections/identity';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { claimDecider, emailClaimId } from '../../domain/claim';
import { userDecider } from '../../domain/user';
import { Clock } from '../../../platform/clock';
import { DataKeyStore } from '../../keys/data-key-store';
import { IdentityReadModel } from '../../read-model/identity-read-model';
import { stepContext } from '../context';

/**
 * Erases a person (data-subject erasure): UserErased first, then the data key is destroyed
 * (crypto-shredding: every event's email and name become `[erased]`), and the email claim is
 * released so the address may register again. A crash between the append and the deletion is
 * finished at start-up (DataKeyStore.destroyKeysOfErasedUsers).
 */
export class ErasePerson extends UseCaseCommand<void> {
  constructor(
    readonly userId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ErasePerson)
export class ErasePersonHandler extends UseCaseHandler<ErasePerson, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly dataKeys: DataKeyStore,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ userId, ctx }: ErasePerson): Promise<Handled<void>> {
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
    return { result: undefined, written: [written(result.position, USERS_PROJECTION)] };
  }
}
