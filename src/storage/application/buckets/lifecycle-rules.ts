import { CommandHandler } from '@nestjs/cqrs';

import { BUCKETS_PROJECTION } from '../../../../projections/storage';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { bucketDecider } from '../../domain';
import { StorageAccess } from '../storage-access';

export interface LifecycleRuleChanged {
  bucketId: string;
  ruleId: string;
}

/** POST /storage/buckets/:bucket/lifecycle: `{prefix, expiration_days}`. */
export class AddLifecycleRule extends UseCaseCommand<LifecycleRuleChanged> {
  constructor(
    readonly name: string,
    readonly prefix: string,
    readonly expirationDays: number,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AddLifecycleRule)
export class AddLifecycleRuleHandler extends UseCaseHandler<
  AddLifecycleRule,
  LifecycleRuleChanged
> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle(command: AddLifecycleRule): Promise<Handled<LifecycleRuleChanged>> {
    const { ctx } = command;
    const { bucketId } = await this.access.ownedBucket(command.name, tenantOf(ctx));
    const ruleId = uuidV5(`lifecycle-rule/${ctx.commandId}`);
    const result = await this.access.executor.execute(
      bucketDecider,
      bucketId,
      {
        type: 'AddLifecycleRule',
        rule: { ruleId, prefix: command.prefix, expirationDays: command.expirationDays },
        now: ctx.now,
      },
      ctx,
    );
    return {
      result: { bucketId, ruleId },
      written: [written(result.position, BUCKETS_PROJECTION)],
    };
  }
}

/** DELETE /storage/buckets/:bucket/lifecycle/:id. */
export class RemoveLifecycleRule extends UseCaseCommand<LifecycleRuleChanged> {
  constructor(
    readonly name: string,
    readonly ruleId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RemoveLifecycleRule)
export class RemoveLifecycleRuleHandler extends UseCaseHandler<
  RemoveLifecycleRule,
  LifecycleRuleChanged
> {
  constructor(private readonly access: StorageAccess) {
    super();
  }

  protected async handle({
    name,
    ruleId,
    ctx,
  }: RemoveLifecycleRule): Promise<Handled<LifecycleRuleChanged>> {
    const { bucketId } = await this.access.ownedBucket(name, tenantOf(ctx));
    const result = await this.access.executor.execute(
      bucketDecider,
      bucketId,
      { type: 'RemoveLifecycleRule', ruleId, now: ctx.now },
      ctx,
    );
    return {
      result: { bucketId, ruleId },
      written: [written(result.position, BUCKETS_PROJECTION)],
    };
  }
}
