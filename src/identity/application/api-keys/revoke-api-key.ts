import { CommandHandler } from '@nestjs/cqrs';
import { API_KEYS_PROJECTION } from '../../../../projections/identity';
import type { AuthContext } from '../../../common/auth-context';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { apiKeyDecider } from '../../domain/api-key';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';
import { ApiKeysService } from './api-keys.service';

/** DELETE /auth/keys/:id: the key is 401 from the next request on. */
export class RevokeApiKey extends UseCaseCommand<void> {
  constructor(
    readonly auth: AuthContext,
    readonly keyId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RevokeApiKey)
export class RevokeApiKeyHandler extends UseCaseHandler<RevokeApiKey, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ auth, keyId, ctx }: RevokeApiKey): Promise<Handled<void>> {
    await this.apiKeys.owned(auth, keyId);
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      { type: 'RevokeApiKey', reason: 'user_request', now: this.clock.now() },
      stepContext(ctx, 'revoke-key'),
    );
    return { result: undefined, written: [written(result.position, API_KEYS_PROJECTION)] };
  }
}
