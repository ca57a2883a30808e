/**
 * IAM policies of a tenant as the policy use cases (`./*.ts`, one file each) and the routes read
 * them: list, read, the policies of a member; a policy of another tenant is 404.
 */
import { Injectable } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error';
import type { PolicyStatement } from '../../domain/policy';
import {
  IdentityReadModel,
  type MembershipRow,
  type PolicyRow,
} from '../../read-model/identity-read-model';

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
  constructor(private readonly readModel: IdentityReadModel) {}

  async list(tenantId: string): Promise<PolicyView[]> {
    return (await this.readModel.policies(tenantId)).map(toView);
  }

  async get(tenantId: string, policyId: string): Promise<PolicyView> {
    return toView(await this.inTenant(tenantId, policyId));
  }

  async ofUser(tenantId: string, userId: string): Promise<PolicyView[]> {
    await this.memberOf(tenantId, userId);
    return (await this.readModel.attachedPolicies(userId, tenantId)).map(toView);
  }

  async inTenant(tenantId: string, policyId: string): Promise<PolicyRow> {
    const row = await this.readModel.policy(policyId);
    if (!row || row.tenant_id !== tenantId) throw AppError.notFound('policy', policyId);
    return row;
  }

  async memberOf(tenantId: string, userId: string): Promise<MembershipRow> {
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
