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
import { claimDecider, policyNameClaimId } from '../../domain/claim';
import { policyDecider } from '../../domain/policy';
import { Clock } from '../../../platform/clock';
import { stepContext } from '../context';
import { PoliciesService } from './policies.service';

/** DELETE /iam/policies/:id (409 dependency_violation while attached, unless forced). */
export class DeletePolicy extends UseCaseCommand<void> {
  constructor(
    readonly tenantId: string,
    readonly policyId: string,
    readonly force: boolean,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeletePolicy)
export class DeletePolicyHandler extends UseCaseHandler<DeletePolicy, void> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly policies: PoliciesService,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ tenantId, policyId, force, ctx }: DeletePolicy): Promise<Handled<void>> {
    await this.policies.inTenant(tenantId, policyId);
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      { type: 'DeletePolicy', force, now: this.clock.now() },
      stepContext(ctx, 'delete-policy'),
    );
    // The name is free again; a release lost to a crash is taken over by the next create.
    if (result.state.name !== null) {
      const claimId = policyNameClaimId(tenantId, result.state.name);
      await this.executor.execute(
        claimDecider,
        claimId,
        { type: 'ReleaseValue', claimId, ownerId: policyId, now: this.clock.now() },
        stepContext(ctx, 'release-policy-name'),
      );
    }
    return { result: undefined, written: [written(result.position, POLICIES_PROJECTION)] };
  }
}
