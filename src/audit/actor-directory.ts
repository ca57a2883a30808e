/**
 * How an audit row's actor reads: a user's email, an API key's name, `[erased]` for a person
 * whose data key was destroyed, `system` for the platform. Resolved when the log is read, from the
 * identity read models (identity_users, identity_api_keys) and the person's data key.
 *
 * Decrypting an email needs the person's data key: from identity's DataKeyStore (exported by
 * IdentityModule), or a `PERSONAL_DATA_READER`; without either (a test module without identity)
 * the wrapped key is read from `identity_data_keys` and unwrapped with the master key
 * (NIMBUS_MASTER_KEY or `<data dir>/keys/master.key`). An unreadable email shows the user id.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import type { Actor } from '../kernel/command-context';
import {
  decryptPersonalField,
  ERASED,
  unwrapDataKey,
  type MasterKeyring,
} from '../identity/crypto/personal-data';
import { DataKeyStore } from '../identity/keys/data-key-store';
import { APP_CONFIG, PG_POOL } from '../platform/tokens';

export { ERASED };

/** What identity may provide: the plaintext email of each user still readable. */
export interface PersonalDataReader {
  /** Email per user id; erased users are absent or map to `[erased]`. */
  emailsOf(userIds: readonly string[]): Promise<Map<string, string>>;
}

export const PERSONAL_DATA_READER = Symbol('PERSONAL_DATA_READER');

export interface UserIdentity {
  id: string;
  status: 'active' | 'erased' | 'unknown';
  email: string;
  name: string;
}

function isMissingTable(err: unknown): boolean {
  return (err as { code?: string }).code === '42P01';
}

@Injectable()
export class ActorDirectory {
  private masterKey: Buffer | null | undefined;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PERSONAL_DATA_READER) private readonly reader?: PersonalDataReader,
    @Optional() private readonly dataKeys?: DataKeyStore,
  ) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      if (isMissingTable(err)) return [];
      throw err;
    }
  }

  private loadMasterKey(): Buffer | null {
    if (this.masterKey !== undefined) return this.masterKey;
    try {
      this.masterKey =
        this.config.masterKey?.subarray(0, 32) ??
        Buffer.from(
          readFileSync(join(this.config.dataDir, 'keys', 'master.key'), 'utf8').trim(),
          'hex',
        ).subarray(0, 32);
    } catch {
      this.masterKey = null;
    }
    return this.masterKey;
  }

  /** Users' email and name (decrypted), `[erased]` once erased. */
  async users(userIds: readonly string[]): Promise<Map<string, UserIdentity>> {
    const out = new Map<string, UserIdentity>();
    const ids = [...new Set(userIds)].filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    if (ids.length === 0) return out;
    const rows = await this.rows<{
      id: string;
      status: 'active' | 'erased';
      email_enc: string | null;
      name_enc: string | null;
      wrapped_key: string | null;
    }>(
      `SELECT u.id, u.status, u.email_enc, u.name_enc, k.wrapped_key
         FROM identity_users u LEFT JOIN identity_data_keys k ON k.user_id = u.id
        WHERE u.id = ANY($1::uuid[])`,
      [ids],
    ).catch(async (err: unknown) => {
      // identity_data_keys may not exist yet (no user registered through the key store).
      if ((err as { code?: string }).code !== '42P01') throw err;
      return this.rows<{
        id: string;
        status: 'active' | 'erased';
        email_enc: string | null;
        name_enc: string | null;
        wrapped_key: string | null;
      }>(
        'SELECT id, status, email_enc, name_enc, NULL AS wrapped_key FROM identity_users WHERE id = ANY($1::uuid[])',
        [ids],
      );
    });
    const fromReader = this.reader ? await this.reader.emailsOf(ids) : new Map<string, string>();
    const keys = this.dataKeys ? await this.dataKeys.getMany(ids) : null;
    for (const row of rows) {
      if (row.status === 'erased' || row.email_enc === null) {
        out.set(row.id, { id: row.id, status: 'erased', email: ERASED, name: ERASED });
        continue;
      }
      const open = (field: string, fieldName: string): string | null => {
        if (!keys) return this.decrypt(row.id, row.wrapped_key, field, fieldName);
        const key = keys.get(row.id) ?? null;
        if (key === null) return ERASED;
        try {
          return decryptPersonalField(key, field, { subjectId: row.id, field: fieldName });
        } catch {
          return null;
        }
      };
      const email = fromReader.get(row.id) ?? open(row.email_enc, 'email');
      const name = row.name_enc ? open(row.name_enc, 'name') : null;
      out.set(row.id, {
        id: row.id,
        status: email === ERASED ? 'erased' : 'active',
        email: email ?? row.id,
        name: name ?? '',
      });
    }
    return out;
  }

  private decrypt(
    userId: string,
    wrapped: string | null,
    field: string,
    fieldName: string,
  ): string | null {
    if (wrapped === null) return ERASED;
    const master = this.loadMasterKey();
    if (!master) return null;
    try {
      // The wrapped key names its master key; identity derives that id from the key itself.
      const ring: MasterKeyring = { current: { id: wrapped.split('.')[1] ?? '', key: master } };
      const dataKey = unwrapDataKey(ring, userId, wrapped);
      return decryptPersonalField(dataKey, field, { subjectId: userId, field: fieldName });
    } catch {
      return null;
    }
  }

  /** Labels of many actors at once. */
  async labels(actors: readonly Actor[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const userIds = actors.filter((a) => a.type === 'user').map((a) => a.id);
    const keyIds = actors.filter((a) => a.type === 'api_key').map((a) => a.id);
    const users = await this.users(userIds);
    for (const id of userIds) out.set(`user:${id}`, users.get(id)?.email ?? id);
    if (keyIds.length > 0) {
      const keys = await this.rows<{ id: string; name: string }>(
        'SELECT id::text, name FROM identity_api_keys WHERE id::text = ANY($1::text[])',
        [[...new Set(keyIds)]],
      );
      const names = new Map(keys.map((k) => [k.id, k.name]));
      for (const id of keyIds) out.set(`api_key:${id}`, names.get(id) ?? `api_key:${id}`);
    }
    for (const a of actors) if (a.type === 'system') out.set(`system:${a.id}`, 'system');
    return out;
  }
}

export function actorKey(actor: Actor): string {
  return `${actor.type}:${actor.id}`;
}
