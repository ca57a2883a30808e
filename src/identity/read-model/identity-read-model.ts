/**
 * Queries of the identity read models (tables written by projections/identity). Plain SQL on the
 * application's pool: the guard runs some of these on every request.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ApiKeyKind } from '../domain/api-key';
import type { PolicyStatement } from '../domain/policy';
import type { TenantRole } from '../domain/tenant';
import { PG_POOL } from '../../platform/tokens';

export interface UserRow {
  id: string;
  email_lookup_hash: string | null;
  email_enc: string | null;
  name_enc: string | null;
  default_tenant_id: string | null;
  session_version: number;
  status: 'active' | 'erased';
  consecutive_failures: number;
  locked_until: Date | null;
  registered_at: Date;
  revision: string;
}

export interface TenantRow {
  id: string;
  tenant_id: string;
  name: string;
  slug: string;
  owner_id: string;
  created_at: Date;
  revision: string;
}

export interface MembershipRow {
  tenant_id: string;
  user_id: string;
  role: TenantRole;
  added_at: Date;
}

export interface ApiKeyRow {
  id: string;
  user_id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  kind: ApiKeyKind;
  expires_at: Date | null;
  session_version: number | null;
  revoked: boolean;
  created_at: Date;
  rotated_at: Date | null;
  last_used: Date | null;
  revision: string;
}

export interface PolicyRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  statements: PolicyStatement[];
  deleted: boolean;
  created_at: Date;
  revision: string;
}

@Injectable()
export class IdentityReadModel {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      // Before the projections' first run the tables do not exist yet: nothing to find.
      // An id that is not a UUID names nothing either (22P02: invalid input syntax).
      const code = (err as { code?: string }).code;
      if (code === '42P01' || code === '22P02') return [];
      throw err;
    }
  }

  async user(id: string): Promise<UserRow | null> {
    return (
      (await this.rows<UserRow>('SELECT * FROM identity_users WHERE id = $1', [id]))[0] ?? null
    );
  }

  async activeUserByEmailHash(hash: string): Promise<UserRow | null> {
    const rows = await this.rows<UserRow>(
      "SELECT * FROM identity_users WHERE email_lookup_hash = $1 AND status = 'active' LIMIT 1",
      [hash],
    );
    return rows[0] ?? null;
  }

  async usersByIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return this.rows<UserRow>('SELECT * FROM identity_users WHERE id = ANY($1::uuid[])', [ids]);
  }

  async memberships(userId: string): Promise<MembershipRow[]> {
    return this.rows<MembershipRow>(
      'SELECT tenant_id, user_id, role, added_at FROM identity_memberships WHERE user_id = $1 ORDER BY added_at, tenant_id',
      [userId],
    );
  }

  async membership(tenantId: string, userId: string): Promise<MembershipRow | null> {
    const rows = await this.rows<MembershipRow>(
      'SELECT tenant_id, user_id, role, added_at FROM identity_memberships WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    );
    return rows[0] ?? null;
  }

  /** Members of a tenant with their user rows (lockout visible to the tenant's admins). */
  async membersOf(tenantId: string): Promise<Array<{ membership: MembershipRow; user: UserRow }>> {
    const rows = await this.rows<MembershipRow & { u: UserRow }>(
      `SELECT m.tenant_id, m.user_id, m.role, m.added_at, to_jsonb(u) AS u
         FROM identity_memberships m JOIN identity_users u ON u.id = m.user_id
        WHERE m.tenant_id = $1 ORDER BY m.added_at, m.user_id`,
      [tenantId],
    );
    return rows.map(({ u, ...membership }) => ({
      membership,
      user: { ...u, locked_until: u.locked_until ? new Date(u.locked_until) : null },
    }));
  }

  async tenant(id: string): Promise<TenantRow | null> {
    return (
      (await this.rows<TenantRow>('SELECT * FROM identity_tenants WHERE id = $1', [id]))[0] ?? null
    );
  }

  async tenantsOf(userId: string): Promise<Array<TenantRow & { role: TenantRole }>> {
    return this.rows(
      `SELECT t.*, m.role FROM identity_memberships m JOIN identity_tenants t ON t.id = m.tenant_id
        WHERE m.user_id = $1 ORDER BY t.created_at, t.id`,
      [userId],
    );
  }

  async tenantBySlug(slug: string): Promise<TenantRow | null> {
    return (
      (await this.rows<TenantRow>('SELECT * FROM identity_tenants WHERE slug = $1', [slug]))[0] ??
      null
    );
  }

  async apiKeyByPrefix(prefix: string): Promise<ApiKeyRow | null> {
    return (
      (
        await this.rows<ApiKeyRow>('SELECT * FROM identity_api_keys WHERE prefix = $1', [prefix])
      )[0] ?? null
    );
  }

  async apiKey(id: string): Promise<ApiKeyRow | null> {
    return (
      (await this.rows<ApiKeyRow>('SELECT * FROM identity_api_keys WHERE id = $1', [id]))[0] ?? null
    );
  }

  /** The user's live keys in a tenant (revoked and expired ones are gone for the user). */
  async apiKeysOf(userId: string, tenantId: string, now: Date): Promise<ApiKeyRow[]> {
    return this.rows<ApiKeyRow>(
      `SELECT * FROM identity_api_keys
        WHERE user_id = $1 AND tenant_id = $2 AND NOT revoked
          AND (expires_at IS NULL OR expires_at > $3)
        ORDER BY created_at, id`,
      [userId, tenantId, now],
    );
  }

  /** Records a use of a key; the caller throttles, the WHERE keeps it to once a minute anyway. */
  async touchApiKey(id: string, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE identity_api_keys SET last_used = $2
        WHERE id = $1 AND (last_used IS NULL OR last_used < $2::timestamptz - interval '1 minute')`,
      [id, at],
    );
  }

  async policies(tenantId: string): Promise<PolicyRow[]> {
    return this.rows<PolicyRow>(
      'SELECT * FROM identity_policies WHERE tenant_id = $1 AND NOT deleted ORDER BY created_at, id',
      [tenantId],
    );
  }

  async policy(id: string): Promise<PolicyRow | null> {
    return (
      (
        await this.rows<PolicyRow>(
          'SELECT * FROM identity_policies WHERE id = $1 AND NOT deleted',
          [id],
        )
      )[0] ?? null
    );
  }

  async policyByName(tenantId: string, name: string): Promise<PolicyRow | null> {
    const rows = await this.rows<PolicyRow>(
      'SELECT * FROM identity_policies WHERE tenant_id = $1 AND name = $2 AND NOT deleted',
      [tenantId, name],
    );
    return rows[0] ?? null;
  }

  /** The names of the tenant's live policies. */
  async policyNames(tenantId: string): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      'SELECT name FROM identity_policies WHERE tenant_id = $1 AND NOT deleted',
      [tenantId],
    );
    return rows.map((r) => r.name);
  }

  /** The policies attached to a user in a tenant (what the guard evaluates). */
  async attachedPolicies(userId: string, tenantId: string): Promise<PolicyRow[]> {
    return this.rows<PolicyRow>(
      `SELECT p.* FROM identity_policy_attachments a JOIN identity_policies p ON p.id = a.policy_id
        WHERE a.user_id = $1 AND a.tenant_id = $2 AND NOT p.deleted ORDER BY a.attached_at, p.id`,
      [userId, tenantId],
    );
  }
}
