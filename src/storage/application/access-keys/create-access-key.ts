import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { ACCESS_KEYS_PROJECTION } from '../../../../projections/storage';
import { uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { accessKeyDecider } from '../../domain';
import { ACCESS_KEY_SECRETS, newAccessKeyPair, type AccessKeySecrets } from './access-key-secrets';

export interface CreatedAccessKey {
  id: string;
  accessKeyId: string;
  /** Shown once, in the answer of the creation. */
  secret: string;
  createdAt: string;
}

/** POST /storage/access-keys: a key pair acting for the caller's tenant as the calling user. */
export class CreateAccessKey extends UseCaseCommand<CreatedAccessKey> {
  constructor(
    readonly userId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateAccessKey)
export class CreateAccessKeyHandler extends UseCaseHandler<CreateAccessKey, CreatedAccessKey> {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(ACCESS_KEY_SECRETS) private readonly secrets: AccessKeySecrets,
  ) {
    super();
  }

  protected async handle({ userId, ctx }: CreateAccessKey): Promise<Handled<CreatedAccessKey>> {
    const tenantId = tenantOf(ctx);
    const id = uuidV5(`s3-access-key/${ctx.commandId}`);
    const { accessKeyId, secret } = newAccessKeyPair();
    const result = await this.executor.execute(
      accessKeyDecider,
      id,
      {
        type: 'CreateAccessKey',
        id,
        tenantId,
        userId,
        accessKeyId,
        sealedSecret: this.secrets.seal(id, secret),
        now: ctx.now,
      },
      ctx,
      { expectNew: true },
    );
    return {
      result: { id, accessKeyId, secret, createdAt: ctx.now.toISOString() },
      written: [written(result.position, ACCESS_KEYS_PROJECTION)],
    };
  }
}
