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
import { AppError } from '../../../common/errors/app-error';
import { actionMatches } from '../../domain/iam-patterns';
import { stepContext } from '../context';
import { PoliciesService } from './policies.service';

/**
 * POST /iam/users/:userId/policies/:policyId: attached, and in force from the next request (the
 * guard reads the policies read model).
 */
export class AttachPolicy extends UseCaseCommand<void> {
  constructor(
    readonly tenantId: string,
    readonly userId: string,
    readonly policyId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AttachPolicy)
export class AttachPolicyHandler extends UseCaseHandler<AttachPolicy, void> {
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
  }: AttachPolicy): Promise<Handled<void>> {
    const membership = await this.policies.memberOf(tenantId, userId);
    const policy = await this.policies.inTenant(tenantId, policyId);
    // An explicit Deny binds owners too: an owner who could no longer detach policies would lock
    // the tenant's IAM for good. Such a policy is refused for owners.
    const locksIam = policy.statements.some(
      (st) =>
        st.effect === 'Deny' && st.action.some((a) => actionMatches(a, 'iam:detachUserPolicy')),
    );
    if (membership.role === 'owner' && locksIam) {
      throw AppError.invalidState(
        'this policy denies iam:detachUserPolicy; attached to an owner it could lock the tenant out of IAM',
        { policy_id: policyId, user_id: userId },
      );
    }
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      { type: 'AttachPolicyToUser', userId, now: this.clock.now() },
      stepContext(ctx, 'attach-policy'),
    );
    return { result: undefined, written: [written(result.position, POLICIES_PROJECTION)] };
  }
}
