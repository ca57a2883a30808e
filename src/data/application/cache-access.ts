import { Inject, Injectable } from '@nestjs/common';

import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import { SECRET_STORE, secretIdFor, type SecretStore } from '../../secrets/ports/secret-store';
import { cacheDecider, type CacheState } from '../domain';
import { cacheSecretName } from '../ports/credentials';
import { CACHE_ENGINE, type CacheEngine, type CacheStats } from '../ports/engines';

/** The tenant's cache; another tenant's, or a deleted one, is 404. */
export async function ownedCache(
  executor: CommandExecutor,
  tenantId: string,
  cacheId: string,
): Promise<CacheState> {
  const { state } = await executor.load(cacheDecider, cacheId);
  if (state.tenantId !== tenantId || state.status === 'none' || state.status === 'deleted') {
    throw AppError.notFound('cache', cacheId);
  }
  return state;
}

export interface CacheConnection {
  url: string;
  host: string;
  port: number;
  username: string;
  password: string;
  secret_id: string;
}

/** What needs the cache's password: the connection, flush and stats, all on RUNNING caches. */
@Injectable()
export class CacheAccess {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(CACHE_ENGINE) private readonly engine: CacheEngine,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
  ) {}

  private async running(
    tenantId: string,
    cacheId: string,
  ): Promise<{ state: CacheState; password: string }> {
    const state = await ownedCache(this.executor, tenantId, cacheId);
    if (state.status !== 'RUNNING' || state.endpoint === null) {
      throw AppError.invalidState(`cache ${cacheId} is ${state.status}; it must be RUNNING`, {
        resource: 'cache',
        id: cacheId,
        status: state.status,
      });
    }
    const password = await this.secrets.reveal(tenantId, cacheSecretName(cacheId));
    if (password === null)
      throw new AppError('internal_error', `the password of cache ${cacheId} is missing`);
    return { state, password };
  }

  async connection(tenantId: string, cacheId: string): Promise<CacheConnection> {
    const { state, password } = await this.running(tenantId, cacheId);
    const { host, port } = state.endpoint as { host: string; port: number };
    return {
      url: `redis://default:${encodeURIComponent(password)}@${host}:${port}/0`,
      host,
      port,
      username: 'default',
      password,
      secret_id: secretIdFor(tenantId, cacheSecretName(cacheId)),
    };
  }

  async stats(tenantId: string, cacheId: string): Promise<CacheStats & { id: string }> {
    const { state, password } = await this.running(tenantId, cacheId);
    return {
      id: cacheId,
      ...(await this.engine.stats(state.endpoint as { host: string; port: number }, password)),
    };
  }

  async flush(tenantId: string, state: CacheState): Promise<void> {
    const { password } = await this.running(tenantId, state.cacheId as string);
    await this.engine.flush(state.endpoint as { host: string; port: number }, password);
  }
}
