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
import { AppError } from '../../../common/errors/app-error';
import { derivedId, stepContext } from '../context';
import type { PolicyView } from './policies.service';
import { PolicyNames } from './policy-names';

/**
 * POST /iam/policies: a named policy of the tenant (409 on a name taken).
 *
 * The name is claimed (`claim-policy-name:<tenant>/<name>`) before the policy's first event, so
 * of two concurrent creates with one name exactly one wins; the read-model check before it only
 * answers the common 409 without an append. A claim held by a deleted policy (a delete whose
 * release was lost) is taken over.
 */
export class CreatePolicy extends UseCaseCommand<PolicyView> {
  constructor(
    readonly tenantId: string,
    readonly body: { name: string; description?: string; statements: unknown },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreatePolicy)
export class CreatePolicyHandler extends UseCaseHandler<CreatePolicy, PolicyView> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly names: PolicyNames,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected async handle({ tenantId, body, ctx }: CreatePolicy): Promise<Handled<PolicyView>> {
    const policyId = derivedId(ctx, 'policy');
    const create = {
      type: 'CreatePolicy' as const,
      policyId,
      tenantId,
      name: body.name,
      description: body.description ?? null,
      statements: body.statements,
      now: this.clock.now(),
    };
    // Input the decider refuses is refused before the name is claimed: nothing is appended.
    policyDecider.decide(create, policyDecider.initialState());
    if (await this.names.isTaken(tenantId, body.name)) throw nameTaken(body.name);
    await this.claimName(tenantId, body.name, policyId, ctx);
    const result = await this.executor
      .execute(policyDecider, policyId, create, stepContext(ctx, 'create-policy'), {
        expectNew: true,
      })
      .catch(async (error: unknown) => {
        const policy = await this.executor.load(policyDecider, policyId);
        if (!policy.exists) await this.releaseName(tenantId, body.name, policyId, ctx);
        throw error;
      });
    // The answer comes from the decided event, not from a read-back of the read model.
    const created = result.events.find((e) => e.type === 'PolicyCreated');
    if (!created) throw new Error(`policy ${policyId} was not created`);
    const view: PolicyView = {
      id: policyId,
      tenant_id: created.data.tenantId,
      name: created.data.name,
      description: created.data.description,
      statements: created.data.statements,
      created_at: new Date(created.data.createdAt).toISOString(),
      revision: String(result.revision),
    };
    return { result: view, written: [written(result.position, POLICIES_PROJECTION)] };
  }

  private async claimName(
    tenantId: string,
    name: string,
    policyId: string,
    ctx: CommandContext,
  ): Promise<void> {
    const claimId = policyNameClaimId(tenantId, name);
    const claim = (): Promise<unknown> =>
      this.executor.execute(
        claimDecider,
        claimId,
        { type: 'ClaimValue', claimId, ownerId: policyId, now: this.clock.now() },
        stepContext(ctx, 'claim-policy-name'),
      );
    try {
      await claim();
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'conflict') throw error;
      const holder = (await this.executor.load(claimDecider, claimId)).state.ownerId;
      if (holder !== null) {
        const owner = await this.executor.load(policyDecider, holder);
        if (owner.state.status !== 'deleted') throw nameTaken(name);
        await this.releaseName(tenantId, name, holder, ctx);
      }
      await claim().catch((retryError: unknown) => {
        throw retryError instanceof AppError && retryError.code === 'conflict'
          ? nameTaken(name)
          : retryError;
      });
    }
  }

  private async releaseName(
    tenantId: string,
    name: string,
    ownerId: string,
    ctx: CommandContext,
  ): Promise<void> {
    const claimId = policyNameClaimId(tenantId, name);
    await this.executor.execute(
      claimDecider,
      claimId,
      { type: 'ReleaseValue', claimId, ownerId, now: this.clock.now() },
      stepContext(ctx, `release-policy-name-${ownerId}`),
    );
  }
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a policy named ${name} already exists in this tenant`, {
    field: 'name',
    value: name,
  });
}
