/** IAM policies of a tenant: create, list, read, delete, attach to and detach from members. */
import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { POLICIES_PROJECTION } from '../../../projections/identity';
import { policyDecider, type PolicyStatement } from '../domain/policy';
import { IdentityClock } from '../identity.tokens';
import { actionMatches } from '../domain/iam-patterns';
import {
  IdentityReadModel,
  type MembershipRow,
  type PolicyRow,
} from '../read-model/identity-read-model';
import { derivedId, stepContext } from './context';

export interface PolicyView {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  statements: PolicyStatement[];
  created_at: string;
  revision: string;
}

@Injectable()
export class PoliciesService {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly waiter: ProjectionWaiter,
    private readonly clock: IdentityClock,
  ) {}

  /** Attachments change what the guard allows on the very next request: wait for them. */
  private async settled(position: Position | null): Promise<boolean> {
    if (!position) return true;
    return this.waiter.waitFor(
      position,
      [POLICIES_PROJECTION],
      this.waiter.readYourWritesTimeoutMs,
    );
  }

  async create(
    tenantId: string,
    body: { name: string; description?: string; statements: unknown },
    ctx: CommandContext,
  ): Promise<{ id: string; position: Position | null; view: PolicyView }> {
    if (await this.readModel.policyByName(tenantId, body.name)) {
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
    return { id: policyId, position: result.position, view };
  }

  async list(tenantId: string): Promise<PolicyView[]> {
    return (await this.readModel.policies(tenantId)).map(toView);
  }

  async get(tenantId: string, policyId: string): Promise<PolicyView> {
    return toView(await this.inTenant(tenantId, policyId));
  }

  async delete(
    tenantId: string,
    policyId: string,
    force: boolean,
    ctx: CommandContext,
  ): Promise<void> {
    await this.inTenant(tenantId, policyId);
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      { type: 'DeletePolicy', force, now: this.clock.now() },
      stepContext(ctx, 'delete-policy'),
    );
    await this.settled(result.position);
  }

  async attach(
    tenantId: string,
    userId: string,
    policyId: string,
    ctx: CommandContext,
  ): Promise<void> {
    const membership = await this.memberOf(tenantId, userId);
    const policy = await this.inTenant(tenantId, policyId);
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
    await this.settled(result.position);
  }

  async detach(
    tenantId: string,
    userId: string,
    policyId: string,
    ctx: CommandContext,
  ): Promise<void> {
    await this.memberOf(tenantId, userId);
    await this.inTenant(tenantId, policyId);
    const result = await this.executor.execute(
      policyDecider,
      policyId,
      { type: 'DetachPolicyFromUser', userId, now: this.clock.now() },
      stepContext(ctx, 'detach-policy'),
    );
    await this.settled(result.position);
  }

  async ofUser(tenantId: string, userId: string): Promise<PolicyView[]> {
    await this.memberOf(tenantId, userId);
    return (await this.readModel.attachedPolicies(userId, tenantId)).map(toView);
  }

  async waitFor(position: Position | null): Promise<boolean> {
    return this.settled(position);
  }

  private async inTenant(tenantId: string, policyId: string): Promise<PolicyRow> {
    const row = await this.readModel.policy(policyId);
    if (!row || row.tenant_id !== tenantId) throw AppError.notFound('policy', policyId);
    return row;
  }

  private async memberOf(tenantId: string, userId: string): Promise<MembershipRow> {
    const membership = await this.readModel.membership(tenantId, userId);
    if (!membership) throw AppError.notFound('user', userId);
    return membership;
  }
}

function toView(row: PolicyRow): PolicyView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    description: row.description,
    statements: row.statements,
    created_at: row.created_at.toISOString(),
    revision: String(row.revision),
  };
}
