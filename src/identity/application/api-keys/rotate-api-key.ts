import { Inject } from '@nestjs/common';
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
import { generateApiKey } from '../../crypto/api-key-format';
import { apiKeyDecider } from '../../domain/api-key';
import { SERVER_KEYS } from '../../identity.tokens';
import { Clock } from '../../../platform/clock';
import type { ServerKeys } from '../../keys/server-keys';
import { stepContext } from '../context';
import { ApiKeysService } from './api-keys.service';
import type { IssuedKey } from './create-api-key';

/** POST /auth/keys/:id/rotate: a new secret; the old one stops working from the next request. */
export class RotateApiKey extends UseCaseCommand<IssuedKey> {
  constructor(
    readonly auth: AuthContext,
    readonly keyId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RotateApiKey)
export class RotateApiKeyHandler extends UseCaseHandler<RotateApiKey, IssuedKey> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
  ) {
    super();
  }

  protected async handle({ auth, keyId, ctx }: RotateApiKey): Promise<Handled<IssuedKey>> {
    await this.apiKeys.owned(auth, keyId);
    const generated = generateApiKey(this.keys.apiKeyPepper);
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      {
        type: 'RotateApiKey',
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        now: this.clock.now(),
      },
      stepContext(ctx, 'rotate-key'),
    );
    return {
      result: { keyId, key: generated.key },
      written: [written(result.position, API_KEYS_PROJECTION)],
    };
  }
}
