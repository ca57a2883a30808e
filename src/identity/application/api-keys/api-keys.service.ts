/** User API keys as the key use cases (`./*.ts`, one file each) and the routes read them. */
import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../../common/auth-context';
import { AppError } from '../../../common/errors/app-error';
import { requireTenantUser } from '../../auth/decorators';
import { Clock } from '../../../platform/clock';
import { IdentityReadModel, type ApiKeyRow } from '../../read-model/identity-read-model';

export interface ApiKeyView {
  id: string;
  user_id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  kind: string;
  created_at: string;
  last_used: string | null;
  expires_at: string | null;
  revision: string;
}

export interface ApiKeyWithSecret extends ApiKeyView {
  /** Shown only in this response. */
  key: string;
}

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly readModel: IdentityReadModel,
    private readonly clock: Clock,
  ) {}

  async list(auth: AuthContext): Promise<ApiKeyView[]> {
    const { userId, tenantId } = requireTenantUser(auth);
    return (await this.readModel.apiKeysOf(userId, tenantId, this.clock.now())).map(toView);
  }

  /** A live key of the caller's tenant that the caller owns (or administers); 404 otherwise. */
  async owned(auth: AuthContext, keyId: string): Promise<ApiKeyRow> {
    const { userId, tenantId } = requireTenantUser(auth);
    const row = await this.readModel.apiKey(keyId);
    const admin = auth.roles.includes('owner') || auth.roles.includes('admin');
    if (!row || row.revoked || row.tenant_id !== tenantId || (row.user_id !== userId && !admin)) {
      throw AppError.notFound('api key', keyId);
    }
    return row;
  }

  async view(keyId: string): Promise<ApiKeyView> {
    const row = await this.readModel.apiKey(keyId);
    if (!row) throw AppError.notFound('api key', keyId);
    return toView(row);
  }
}

function toView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    user_id: row.user_id,
    tenant_id: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    kind: row.kind,
    created_at: row.created_at.toISOString(),
    last_used: row.last_used ? row.last_used.toISOString() : null,
    expires_at: row.expires_at ? row.expires_at.toISOString() : null,
    revision: String(row.revision),
  };
}
