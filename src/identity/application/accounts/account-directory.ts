import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error';
import type { AuthContext } from '../../../common/auth-context';
import { CommandExecutor } from '../../../eventstore/command-executor';
import { emailLookupHash, revealPersonalField } from '../../crypto/personal-data';
import { userDecider, type UserState } from '../../domain/user';
import { SignInThrottle } from '../../auth/sign-in-throttle';
import { SERVER_KEYS } from '../../identity.tokens';
import { DataKeyStore } from '../../keys/data-key-store';
import type { ServerKeys } from '../../keys/server-keys';
import { IdentityReadModel, type UserRow } from '../../read-model/identity-read-model';

export interface PublicUser {
  id: string;
  email: string;
  name: string;
}

/**
 * What the account use cases (`./*.ts`, one file each) and the identity routes read about a
 * person: the email lookup hash, decrypted personal fields, "who am I", sign-in activity.
 */
@Injectable()
export class AccountDirectory {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly dataKeys: DataKeyStore,
    private readonly throttle: SignInThrottle,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
  ) {}

  lookupHash(normalizedEmail: string): string {
    return emailLookupHash(normalizedEmail, this.keys.emailLookupPepper);
  }

  async me(auth: AuthContext): Promise<{
    user: PublicUser;
    tenant: { id: string; name: string; slug: string } | null;
    roles: string[];
    credential: { type: 'jwt' | 'api_key'; api_key_id: string | null };
  }> {
    const row = auth.userId ? await this.readModel.user(auth.userId) : null;
    if (!row) throw new AppError('unauthorized', 'the session has ended; sign in again');
    const tenant = auth.tenantId ? await this.readModel.tenant(auth.tenantId) : null;
    return {
      user: await this.publicUser(row),
      tenant: tenant ? { id: tenant.id, name: tenant.name, slug: tenant.slug } : null,
      roles: auth.roles,
      credential: {
        type: auth.apiKeyId ? 'api_key' : 'jwt',
        api_key_id: auth.apiKeyId ?? null,
      },
    };
  }

  /** Decrypts a user's personal fields; `[erased]` once the data key is gone. */
  async publicUser(row: UserRow): Promise<PublicUser> {
    const key = row.status === 'active' ? await this.dataKeys.get(row.id) : null;
    const reveal = (field: string | null, name: string) =>
      field === null
        ? revealPersonalField(null, '', { subjectId: row.id, field: name })
        : revealPersonalField(key, field, { subjectId: row.id, field: name });
    return {
      id: row.id,
      email: reveal(row.email_enc, 'email'),
      name: reveal(row.name_enc, 'name'),
    };
  }

  /** For handlers that need the write-side state (tests). */
  async userState(userId: string): Promise<UserState> {
    return (await this.executor.load(userDecider, userId)).state;
  }

  /** What administrators see of a member's sign-ins (GET /tenants/:id/members). */
  signInActivity(row: UserRow): { failures: number; slowed: boolean } {
    return row.email_lookup_hash
      ? this.throttle.accountView(row.email_lookup_hash)
      : { failures: 0, slowed: false };
  }
}
