import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import {
  afterCreatedKey,
  createdKeyOf,
  fetchSize,
  type CreatedKey,
  paginate,
  type PageEnvelope,
  type PageRequest,
} from '../../../common/pagination';
import { PG_POOL } from '../../../platform/tokens';
import { ACCESS_KEY_ID_PATTERN } from '../../domain';
import { ACCESS_KEY_SECRETS, type AccessKeySecrets } from './access-key-secrets';

export interface AccessKeyView {
  id: string;
  access_key_id: string;
  user_id: string;
  created_at: string;
}

interface AccessKeyRow {
  id: string;
  tenant_id: string;
  user_id: string;
  access_key_id: string;
  sealed_secret: string;
  created_at: Date;
}

/** A live key with its secret in clear: what the SigV4 verifier needs. */
export interface ActiveAccessKey {
  id: string;
  tenantId: string;
  userId: string;
  accessKeyId: string;
  secret: string;
}

const viewOf = (r: AccessKeyRow): AccessKeyView => ({
  id: r.id,
  access_key_id: r.access_key_id,
  user_id: r.user_id,
  created_at: r.created_at.toISOString(),
});

@Injectable()
export class AccessKeyQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ACCESS_KEY_SECRETS) private readonly secrets: AccessKeySecrets,
  ) {}

  /** The tenant's live keys, oldest first; never their secrets. */
  async list(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<AccessKeyView[] | PageEnvelope<AccessKeyView>> {
    const params: unknown[] = [tenantId];
    const after = afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<AccessKeyRow>(
      `SELECT id, tenant_id, user_id, access_key_id, sealed_secret, created_at
       FROM storage_access_keys WHERE tenant_id = $1 AND deleted_at IS NULL${after}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    return Array.isArray(result)
      ? result.map(viewOf)
      : { items: result.items.map(viewOf), page: result.page };
  }

  /** The live key of that access key id with its secret opened; null when there is none. */
  async active(accessKeyId: string): Promise<ActiveAccessKey | null> {
    if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) return null;
    const { rows } = await this.pool.query<AccessKeyRow>(
      `SELECT id, tenant_id, user_id, access_key_id, sealed_secret, created_at
       FROM storage_access_keys WHERE access_key_id = $1 AND deleted_at IS NULL`,
      [accessKeyId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      accessKeyId: row.access_key_id,
      secret: this.secrets.open(row.id, row.sealed_secret),
    };
  }
}
