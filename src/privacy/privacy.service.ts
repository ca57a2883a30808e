/**
 * Data-subject requests: everything held about a person (GET /me/export) and erasure
 * (POST /me/delete) by crypto-shredding. Erasure is identity's ErasePerson command
 * (UserErased, then the person's data key destroyed, then the email claim released): their email
 * and name read `[erased]` in every view that decrypts (audit actor labels, timeline, /me), while
 * the events, the audit rows and the bills keep their pseudonymous ids and amounts.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { ActorDirectory } from '../audit/actor-directory';
import { AppError } from '../common/errors/app-error';
import type { CommandContext } from '../kernel/command-context';
import { Clock } from '../platform/clock';
import { CommandBus } from '@nestjs/cqrs';
import { ErasePerson } from '../identity/ports/commands';
import { IdentityReadModel } from '../identity/read-model/identity-read-model';
import { PG_POOL } from '../platform/tokens';

export interface PersonalDataExport {
  exported_at: string;
  profile: {
    id: string;
    email: string;
    name: string;
    status: string;
    registered_at: string;
    default_tenant_id: string | null;
  };
  memberships: Array<{ tenant_id: string; name: string; slug: string; role: string }>;
  api_keys: Array<{
    id: string;
    tenant_id: string;
    name: string;
    prefix: string;
    kind: string;
    created_at: string;
    last_used: string | null;
    expires_at: string | null;
    revoked: boolean;
  }>;
  audit_entries: Array<{
    id: string;
    timestamp: string;
    tenant_id: string | null;
    action: string;
    resource: string;
    status: string;
    ip_address: string | null;
    request_id: string | null;
    via: 'user' | 'api_key';
  }>;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

@Injectable()
export class PrivacyService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly identity: IdentityReadModel,
    private readonly actors: ActorDirectory,
    private readonly clock: Clock,
    private readonly commands: CommandBus,
  ) {}

  async export(userId: string): Promise<PersonalDataExport> {
    const user = await this.identity.user(userId);
    if (!user) throw AppError.notFound('user', userId);
    const person = (await this.actors.users([userId])).get(userId);
    const tenants = await this.identity.tenantsOf(userId);
    const keys = await this.pool.query<{
      id: string;
      tenant_id: string;
      name: string;
      prefix: string;
      kind: string;
      created_at: Date;
      last_used: Date | null;
      expires_at: Date | null;
      revoked: boolean;
    }>(
      `SELECT id, tenant_id, name, prefix, kind, created_at, last_used, expires_at, revoked
         FROM identity_api_keys WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    );
    const keyIds = keys.rows.map((k) => String(k.id));
    let audit: PersonalDataExport['audit_entries'] = [];
    try {
      const { rows } = await this.pool.query<{
        id: string;
        occurred_at: Date;
        tenant_id: string | null;
        action: string;
        resource: string;
        status: string;
        ip_address: string | null;
        request_id: string | null;
        actor_type: 'user' | 'api_key';
      }>(
        `SELECT id, occurred_at, tenant_id, action, resource, status, ip_address, request_id, actor_type
           FROM audit_log
          WHERE (actor_type = 'user' AND actor_id = $1)
             OR (actor_type = 'api_key' AND actor_id = ANY($2::text[]))
          ORDER BY occurred_at, id`,
        [userId, keyIds],
      );
      audit = rows.map((r) => ({
        id: r.id,
        timestamp: r.occurred_at.toISOString(),
        tenant_id: r.tenant_id,
        action: r.action,
        resource: r.resource,
        status: r.status,
        ip_address: r.ip_address,
        request_id: r.request_id,
        via: r.actor_type,
      }));
    } catch (err) {
      if ((err as { code?: string }).code !== '42P01') throw err;
    }
    return {
      exported_at: this.clock.now().toISOString(),
      profile: {
        id: user.id,
        email: person?.email ?? '[erased]',
        name: person?.name ?? '[erased]',
        status: user.status,
        registered_at: user.registered_at.toISOString(),
        default_tenant_id: user.default_tenant_id,
      },
      memberships: tenants.map((t) => ({
        tenant_id: t.id,
        name: t.name,
        slug: t.slug,
        role: t.role,
      })),
      api_keys: keys.rows.map((k) => ({
        id: String(k.id),
        tenant_id: k.tenant_id,
        name: k.name,
        prefix: k.prefix,
        kind: k.kind,
        created_at: k.created_at.toISOString(),
        last_used: iso(k.last_used),
        expires_at: iso(k.expires_at),
        revoked: k.revoked,
      })),
      audit_entries: audit,
    };
  }

  /** Erases the person: their data key is destroyed; the session ends with it. */
  async erase(userId: string, ctx: CommandContext): Promise<void> {
    await this.commands.execute(new ErasePerson(userId, ctx));
  }
}
