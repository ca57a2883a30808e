import { CommandHandler } from '@nestjs/cqrs';

import { ACCESS_KEYS_PROJECTION } from '../../../../projections/storage';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
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

/** DELETE /storage/access-keys/:id: the key stops working with the next request. */
export class DeleteAccessKey extends UseCaseCommand<{ id: string }> {
  constructor(
    readonly id: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteAccessKey)
export class DeleteAccessKeyHandler extends UseCaseHandler<DeleteAccessKey, { id: string }> {
  constructor(private readonly executor: CommandExecutor) {
    super();
  }

  protected async handle({ id, ctx }: DeleteAccessKey): Promise<Handled<{ id: string }>> {
    const tenantId = tenantOf(ctx);
    if (!isUuid(id)) throw AppError.notFound('access_key', id);
    const { state } = await this.executor.load(accessKeyDecider, id);
    // Another tenant's key is as absent as a key that never was.
    if (state.status !== 'ACTIVE' || state.tenantId !== tenantId) {
      throw AppError.notFound('access_key', id);
    }
    const result = await this.executor.execute(
      accessKeyDecider,
      id,
      { type: 'DeleteAccessKey', now: ctx.now },
      ctx,
    );
    return { result: { id }, written: [written(result.position, ACCESS_KEYS_PROJECTION)] };
  }
}
