import { CommandHandler } from '@nestjs/cqrs';
import { POLICIES_PROJECTION } from '../../../../projections/identity';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { policyDecider } from '../../domain/policy';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';
import { PoliciesService } from './policies.service';

/** DELETE /iam/users/:userId/policies/:policyId: out of force from the next request. */
export class DetachPolicy extends UseCaseCommand<void> {
  constructor(
    readonly tenantId: string,
    readonly userId: string,
    readonly policyId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DetachPolicy)
export class DetachPolicyHandler extends UseCaseHandler<DetachPolicy, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly policies: PoliciesService,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({
    tenantId,
    userId,
    policyId,
    ctx,
  }: DetachPolicy): Promise<Handled<void>> {
    await this.policies.memberOf(tenantId, userId);
    await this.policies.inTenant(tenantId, policyId);
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      { type: 'DetachPolicyFromUser', userId, now: this.clock.now() },
      stepContext(ctx, 'detach-policy'),
    );
    return { result: undefined, written: [written(result.position, POLICIES_PROJECTION)] };
  }
}
