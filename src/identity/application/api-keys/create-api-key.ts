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
import { requireTenantUser } from '../../auth/decorators';
import { derivedId, stepContext } from '../context';

/** A key's id and its secret (shown once); the route reads the rest from the keys read model. */
export interface IssuedKey {
  keyId: string;
  key: string;
}

/** POST /auth/keys: an API key bound to the caller's tenant, working from the next request. */
export class CreateApiKey extends UseCaseCommand<IssuedKey> {
  constructor(
    readonly auth: AuthContext,
    readonly body: { name: string; expires_at?: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateApiKey)
export class CreateApiKeyHandler extends UseCaseHandler<CreateApiKey, IssuedKey> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly clock: Clock,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
  ) {
    super();
  }

  protected async handle({ auth, body, ctx }: CreateApiKey): Promise<Handled<IssuedKey>> {
    const { userId, tenantId } = requireTenantUser(auth);
    const generated = generateApiKey(this.keys.apiKeyPepper);
    const keyId = derivedId(ctx, 'api-key');
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      {
        type: 'CreateApiKey',
        keyId,
        userId,
        tenantId,
        name: body.name,
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        kind: 'user',
        expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        now: this.clock.now(),
      },
      stepContext(ctx, 'create-key'),
    );
    return {
      result: { keyId, key: generated.key },
      written: [written(result.position, API_KEYS_PROJECTION)],
    };
  }
}
