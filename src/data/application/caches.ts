import { CommandHandler } from '@nestjs/cqrs';

import { CACHES_PROJECTION } from '../../../projections/data';
import {
  CACHE_DELETE_SAGA,
  CACHE_PROVISION_SAGA,
  type CacheSagaInput,
} from '../../../sagas/cache-provision/cache-provision.saga';
import { SagaLauncher } from '../../../sagas/runtime/sagas.module';
import { uuidV5 } from '../../common/ids';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { QuotaService } from '../../platform/quotas/quota.service';
import { cacheDecider, validateCacheMemory, validateName } from '../domain';
import { CacheAccess, ownedCache } from './cache-access';
import { CACHE_MEMORY_QUOTA, CACHE_QUOTA } from './data-quotas';

export interface CacheChanged {
  cacheId: string;
}

/** POST /caches: quotas, CREATING, then the provisioning saga. */
export class CreateCache extends UseCaseCommand<CacheChanged> {
  constructor(
    readonly input: { name: string; memoryMb: number },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** POST /caches/:id/flush: FLUSHALL on a RUNNING cache. */
export class FlushCache extends UseCaseCommand<CacheChanged> {
  constructor(
    readonly cacheId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** DELETE /caches/:id: DELETING, then the teardown saga. */
export class DeleteCache extends UseCaseCommand<CacheChanged> {
  constructor(
    readonly cacheId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateCache)
export class CreateCacheHandler extends UseCaseHandler<CreateCache, CacheChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly quotas: QuotaService,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({ input, ctx }: CreateCache): Promise<Handled<CacheChanged>> {
    const tenantId = tenantOf(ctx);
    // Validated before the quota: a rejected request appends nothing, not even a reservation.
    validateName(input.name);
    validateCacheMemory(input.memoryMb);
    const cacheId = uuidV5(`cache/${ctx.commandId}`);
    await this.quotas.reserve(
      tenantId,
      { id: cacheId, kind: 'cache' },
      { [CACHE_QUOTA]: 1, [CACHE_MEMORY_QUOTA]: input.memoryMb },
      ctx,
    );
    let result;
    try {
      result = await this.executor.execute(
        cacheDecider,
        cacheId,
        {
          type: 'CreateCache',
          cacheId,
          tenantId,
          name: input.name,
          memoryMb: input.memoryMb,
          now: ctx.now,
        },
        ctx,
        { expectNew: true },
      );
    } catch (error) {
      await this.quotas.release(tenantId, cacheId, ctx).catch(() => undefined);
      throw error;
    }
    const sagaInput: CacheSagaInput = { cacheId, tenantId };
    await this.sagas.start(CACHE_PROVISION_SAGA, cacheId, sagaInput, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { cacheId }, written: [written(result.position, CACHES_PROJECTION)] };
  }
}

@CommandHandler(FlushCache)
export class FlushCacheHandler extends UseCaseHandler<FlushCache, CacheChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly access: CacheAccess,
  ) {
    super();
  }

  protected async handle({ cacheId, ctx }: FlushCache): Promise<Handled<CacheChanged>> {
    const tenantId = tenantOf(ctx);
    const state = await ownedCache(this.executor, tenantId, cacheId);
    if (state.status !== 'RUNNING') {
      // The decider says why (409 invalid_state) without appending anything.
      cacheDecider.decide({ type: 'FlushCache', now: ctx.now }, state);
    }
    await this.access.flush(tenantId, state);
    const result = await this.executor.execute(
      cacheDecider,
      cacheId,
      { type: 'FlushCache', now: ctx.now },
      ctx,
    );
    return { result: { cacheId }, written: [written(result.position, CACHES_PROJECTION)] };
  }
}

@CommandHandler(DeleteCache)
export class DeleteCacheHandler extends UseCaseHandler<DeleteCache, CacheChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({ cacheId, ctx }: DeleteCache): Promise<Handled<CacheChanged>> {
    const tenantId = tenantOf(ctx);
    await ownedCache(this.executor, tenantId, cacheId);
    const result = await this.executor.execute(
      cacheDecider,
      cacheId,
      { type: 'DeleteCache', now: ctx.now },
      ctx,
    );
    await this.sagas.start(
      CACHE_DELETE_SAGA,
      cacheId,
      { cacheId, tenantId } satisfies CacheSagaInput,
      {
        tenantId,
        correlationId: ctx.correlationId,
        requestId: ctx.requestId,
      },
    );
    return { result: { cacheId }, written: [written(result.position, CACHES_PROJECTION)] };
  }
}

export const CACHE_USE_CASES = [CreateCacheHandler, FlushCacheHandler, DeleteCacheHandler];
