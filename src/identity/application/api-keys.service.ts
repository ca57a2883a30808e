/** User API keys: create, list, revoke, rotate. Answers only once the keys read model has the change. */
import { Inject, Injectable } from '@nestjs/common';
import type { AuthContext } from '../../common/auth-context';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { API_KEYS_PROJECTION } from '../../../projections/identity';
import { requireTenantUser } from '../auth/decorators';
import { generateApiKey } from '../crypto/api-key-format';
import { apiKeyDecider } from '../domain/api-key';
import { IdentityClock, SERVER_KEYS } from '../identity.tokens';
import type { ServerKeys } from '../keys/server-keys';
import { IdentityReadModel, type ApiKeyRow } from '../read-model/identity-read-model';
import { derivedId, stepContext } from './context';

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
    private readonly executor: CommandExecutor,
    private readonly readModel: IdentityReadModel,
    private readonly waiter: ProjectionWaiter,
    private readonly clock: IdentityClock,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
  ) {}

  /** The key read model must have this position before the answer: the guard reads it next. */
  private async settled(position: Position | null): Promise<void> {
    if (!position) return;
    const caughtUp = await this.waiter.waitFor(
      position,
      [API_KEYS_PROJECTION],
      Math.max(this.waiter.readYourWritesTimeoutMs, 10_000),
    );
    if (!caughtUp) {
      throw new AppError(
        'service_unavailable',
        'the key change is recorded but not yet effective; retry shortly',
      );
    }
  }

  async create(
    auth: AuthContext,
    body: { name: string; expires_at?: string },
    ctx: CommandContext,
  ): Promise<ApiKeyWithSecret> {
    const { userId, tenantId } = requireTenantUser(auth);
    const generated = generateApiKey(this.keys.apiKeyPepper);
    const keyId = derivedId(ctx, 'api-key');
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      {
        type: 'CreateApiKey',
        keyId,
        userId,
        tenantId,
        name: body.name,
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        kind: 'user',
        expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        now: this.clock.now(),
      },
      stepContext(ctx, 'create-key'),
    );
    await this.settled(result.position);
    return { ...(await this.view(keyId)), key: generated.key };
  }

  async list(auth: AuthContext): Promise<ApiKeyView[]> {
    const { userId, tenantId } = requireTenantUser(auth);
    return (await this.readModel.apiKeysOf(userId, tenantId, this.clock.now())).map(toView);
  }

  async revoke(auth: AuthContext, keyId: string, ctx: CommandContext): Promise<void> {
    await this.owned(auth, keyId);
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      { type: 'RevokeApiKey', reason: 'user_request', now: this.clock.now() },
      stepContext(ctx, 'revoke-key'),
    );
    await this.settled(result.position);
  }

  async rotate(auth: AuthContext, keyId: string, ctx: CommandContext): Promise<ApiKeyWithSecret> {
    await this.owned(auth, keyId);
    const generated = generateApiKey(this.keys.apiKeyPepper);
    const result = await this.executor.execute(
      apiKeyDecider,
      keyId,
      {
        type: 'RotateApiKey',
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        now: this.clock.now(),
      },
      stepContext(ctx, 'rotate-key'),
    );
    await this.settled(result.position);
    return { ...(await this.view(keyId)), key: generated.key };
  }

  /** A live key of the caller's tenant that the caller owns (or administers); 404 otherwise. */
  private async owned(auth: AuthContext, keyId: string): Promise<ApiKeyRow> {
    const { userId, tenantId } = requireTenantUser(auth);
    const row = await this.readModel.apiKey(keyId);
    const admin = auth.roles.includes('owner') || auth.roles.includes('admin');
    if (!row || row.revoked || row.tenant_id !== tenantId || (row.user_id !== userId && !admin)) {
      throw AppError.notFound('api key', keyId);
    }
    return row;
  }

  private async view(keyId: string): Promise<ApiKeyView> {
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
