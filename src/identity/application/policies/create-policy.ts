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
import { derivedId, stepContext } from '../context';
import type { PolicyView } from './policies.service';
import { PolicyNames } from './policy-names';

/** POST /iam/policies: a named policy of the tenant (409 on a name taken). */
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
    if (await this.names.isTaken(tenantId, body.name)) {
      throw new AppError('conflict', `a policy named ${body.name} already exists in this tenant`, {
        field: 'name',
        value: body.name,
      });
    }
    const policyId = derivedId(ctx, 'policy');
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      {
        type: 'CreatePolicy',
        policyId,
        tenantId,
        name: body.name,
        description: body.description ?? null,
        statements: body.statements,
        now: this.clock.now(),
      },
      stepContext(ctx, 'create-policy'),
      { expectNew: true },
    );
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
}
