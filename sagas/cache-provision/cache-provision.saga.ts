import { cacheDecider, type CacheCommand, type CacheState } from '../../src/data/domain';
import { cacheSecretName, newEnginePassword } from '../../src/data/ports/credentials';
import type { CacheEngine, EngineImageSource } from '../../src/data/ports/engines';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import type { CommandContext } from '../../src/kernel/command-context';
import type { SecretStore } from '../../src/secrets/ports/secret-store';
import {
  defineSaga,
  onStreamOf,
  PermanentSagaError,
  sagaCommandContext,
  type SagaDefinition,
  lastStepFailure,
} from '../runtime/definition';
import { engineTeardownSaga } from '../engine-teardown/engine-teardown.saga';
import { CACHE_CATEGORY } from '../../src/data/domain/cache';

export const CACHE_PROVISION_SAGA = 'cache_provision';
export const CACHE_DELETE_SAGA = 'cache_delete';

export interface CacheSagaInput {
  cacheId: string;
  tenantId: string;
}

/** The cache an event of its stream concerns: the saga instance it starts. */
const cacheOfEvent = onStreamOf<CacheSagaInput>(CACHE_CATEGORY, (cacheId, tenantId) => ({
  sagaId: cacheId,
  input: { cacheId, tenantId },
}));

/** What the cache sagas need; DataModule provides them (`provideSaga`). */
export interface CacheSagaPorts {
  executor: CommandExecutor;
  store: EventStore;
  engine: CacheEngine;
  secrets: SecretStore;
  /** The engine images, built on first need. */
  images: EngineImageSource;
  /** Gives back the tenant's cache quota and memory (teardown). */
  releaseQuota(tenantId: string, cacheId: string, ctx: CommandContext): Promise<unknown>;
}

interface ProvisionResults extends Record<string, unknown> {
  begin: null;
  credentials: { secretName: string };
  container: { host: string; port: number };
  ready: null;
  record_running: null;
}

async function loadCache(p: CacheSagaPorts, cacheId: string): Promise<CacheState> {
  const { state, exists } = await p.executor.load(cacheDecider, cacheId);
  if (!exists) throw new PermanentSagaError(`cache ${cacheId} does not exist`);
  return state;
}

function requireCreating(state: CacheState): void {
  if (state.status !== 'CREATING' && state.status !== 'RUNNING') {
    throw new PermanentSagaError(`the cache is ${state.status}; provisioning stopped`);
  }
}

async function record(
  p: CacheSagaPorts,
  saga: string,
  input: CacheSagaInput,
  purpose: string,
  correlationId: string,
  command: CacheCommand,
): Promise<CacheState> {
  const ctx = sagaCommandContext(saga, input.cacheId, purpose, {
    tenantId: input.tenantId,
    correlationId,
  });
  return (await p.executor.execute(cacheDecider, input.cacheId, command, ctx, 10)).state;
}

/**
 * Provisioning of one cache (`saga_cache_provision-<cacheId>`), started by the create handler
 * once `CacheCreated` (CREATING) is recorded. Steps, each idempotent:
 *
 *   begin           nothing; its compensation (the last to run) records FAILED with the error
 *   credentials     the password in the secrets store (kept when a repeat finds it there)
 *   container       nimbus-cache-<id> created if absent and started (maxmemory, memory limit)
 *   ready           AUTH + PING answer on 127.0.0.1:<port>
 *   record_running  RUNNING with its endpoint; a delete that started meanwhile undoes it all
 */
export function cacheProvisionSaga(p: CacheSagaPorts): SagaDefinition<CacheSagaInput> {
  const saga = CACHE_PROVISION_SAGA;
  return defineSaga<CacheSagaInput, ProvisionResults>({
    name: saga,
    startedBy: { CacheCreated: cacheOfEvent },
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 5000 },
    // A first start may build the engine image (minutes) in the container step.
    stepTimeoutMs: 900_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const reason = await lastStepFailure(
            p.store,
            CACHE_PROVISION_SAGA,
            input.cacheId,
            'provisioning failed',
          );
          await record(p, saga, input, 'failed', correlationId, {
            type: 'RecordCacheFailed',
            reason,
            now: new Date(),
          });
        },
      },
      {
        name: 'credentials',
        async execute({ input, correlationId }) {
          requireCreating(await loadCache(p, input.cacheId));
          const secretName = cacheSecretName(input.cacheId);
          const existing = await p.secrets.reveal(input.tenantId, secretName);
          if (existing === null) {
            await p.secrets.put(
              {
                tenantId: input.tenantId,
                name: secretName,
                value: newEnginePassword(),
                owner: { kind: 'cache', id: input.cacheId },
                description: `password of cache ${input.cacheId}`,
              },
              sagaCommandContext(saga, input.cacheId, 'store_password', {
                tenantId: input.tenantId,
                correlationId,
              }),
            );
          }
          return { secretName };
        },
        async compensate({ input, correlationId }) {
          await p.secrets.remove(
            input.tenantId,
            cacheSecretName(input.cacheId),
            sagaCommandContext(saga, input.cacheId, 'remove_password', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
        },
      },
      {
        name: 'container',
        async execute({ input }) {
          const cache = await loadCache(p, input.cacheId);
          requireCreating(cache);
          try {
            await p.images.ensure(p.engine.image);
          } catch (error) {
            throw new PermanentSagaError(error instanceof Error ? error.message : String(error));
          }
          const password = await p.secrets.reveal(input.tenantId, cacheSecretName(input.cacheId));
          if (password === null)
            throw new Error('the cache password is not in the secrets store yet');
          return p.engine.ensure({
            cacheId: input.cacheId,
            tenantId: input.tenantId,
            memoryMb: cache.memoryMb,
            password,
          });
        },
        async compensate({ input }) {
          await p.engine.remove(input.cacheId);
        },
      },
      {
        name: 'ready',
        async execute({ input, results, signal }) {
          const password = await p.secrets.reveal(input.tenantId, cacheSecretName(input.cacheId));
          if (password === null) throw new PermanentSagaError('the cache password is gone');
          await p.engine.waitReady(
            results.container as { host: string; port: number },
            password,
            signal,
          );
          return null;
        },
      },
      {
        name: 'record_running',
        async execute({ input, correlationId, results }) {
          const endpoint = results.container as { host: string; port: number };
          const state = await loadCache(p, input.cacheId);
          if (state.status !== 'CREATING' && state.status !== 'RUNNING') {
            throw new PermanentSagaError(`the cache is ${state.status}; provisioning stopped`);
          }
          await record(p, saga, input, 'running', correlationId, {
            type: 'RecordCacheRunning',
            endpoint: { host: endpoint.host, port: endpoint.port },
            now: new Date(),
          });
          return null;
        },
      },
    ],
  });
}

/**
 * Teardown of one cache (`saga_cache_delete-<cacheId>`), started by the delete handler once
 * `CacheDeletionStarted` (DELETING) is recorded. Forward only, each step idempotent and retried:
 * the container removed, the password deleted, the cache gone, the quota back.
 */
export function cacheDeleteSaga(p: CacheSagaPorts): SagaDefinition<CacheSagaInput> {
  return engineTeardownSaga<CacheSagaInput>({
    name: CACHE_DELETE_SAGA,
    startedBy: { CacheDeletionStarted: cacheOfEvent },
    stepTimeoutMs: 60_000,
    idOf: (input) => input.cacheId,
    secretNameOf: cacheSecretName,
    secrets: p.secrets,
    removeEngine: (cacheId) => p.engine.remove(cacheId),
    recordDeleted: (input, correlationId) =>
      record(p, CACHE_DELETE_SAGA, input, 'deleted', correlationId, {
        type: 'RecordCacheDeleted',
        now: new Date(),
      }),
    releaseQuota: p.releaseQuota,
  });
}
