/**
 * The cache aggregate (stream `cache-<cacheId>`): a Redis server of `memoryMb` (its maxmemory and
 * its container's memory limit), its password in the secrets store.
 *
 *   (create) -> CREATING --running--> RUNNING --stopped (drift)--> STOPPED --running--> RUNNING
 *   CREATING --failed--> FAILED
 *   CREATING | RUNNING | STOPPED | FAILED --delete--> DELETING --deleted--> (gone)
 *
 * Flushing needs RUNNING. A delete while CREATING wins: the provisioning saga, on recording
 * RUNNING, finds DELETING and undoes its work.
 *
 * Drift (the data reconciler): a RUNNING cache whose container exited is started again and
 * `CacheEngineRestarted` recorded (status unchanged; Redis keeps nothing across a restart);
 * a container removed behind Nimbus's back, or one that cannot be started, is
 * `CacheEngineLost`: FAILED with the reason (delete is what remains).
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { invalidState, validateName } from './rules';

export const CACHE_CATEGORY = 'cache';
export const CACHE_MEMORY_MIN_MB = 32;
export const CACHE_MEMORY_MAX_MB = 16384;

export type CacheStatus = 'CREATING' | 'RUNNING' | 'FAILED' | 'STOPPED' | 'DELETING';

export interface CacheEndpoint {
  host: string;
  port: number;
}

export type CacheCommand =
  | {
      type: 'CreateCache';
      cacheId: string;
      tenantId: string;
      name: string;
      memoryMb: number;
      now: Date;
    }
  | { type: 'RecordCacheRunning'; endpoint: CacheEndpoint; now: Date }
  | { type: 'RecordCacheFailed'; reason: string; now: Date }
  | { type: 'RecordCacheStopped'; reason: string; now: Date }
  | { type: 'FlushCache'; now: Date }
  | { type: 'DeleteCache'; now: Date }
  | { type: 'RecordCacheDeleted'; now: Date }
  | { type: 'RecordCacheEngineRestarted'; reason: string; now: Date }
  | { type: 'RecordCacheEngineLost'; reason: string; now: Date };

export type CacheEvent =
  | {
      type: 'CacheCreated';
      data: { cacheId: string; tenantId: string; name: string; memoryMb: number; at: string };
    }
  | { type: 'CacheRunning'; data: { cacheId: string; endpoint: CacheEndpoint; at: string } }
  | { type: 'CacheFailed'; data: { cacheId: string; reason: string; at: string } }
  | { type: 'CacheStopped'; data: { cacheId: string; reason: string; at: string } }
  | { type: 'CacheFlushed'; data: { cacheId: string; at: string } }
  | { type: 'CacheDeletionStarted'; data: { cacheId: string; at: string } }
  | { type: 'CacheDeleted'; data: { cacheId: string; at: string } }
  | { type: 'CacheEngineRestarted'; data: { cacheId: string; reason: string; at: string } }
  | { type: 'CacheEngineLost'; data: { cacheId: string; reason: string; at: string } };

export interface CacheState {
  status: CacheStatus | 'none' | 'deleted';
  cacheId: string | null;
  tenantId: string | null;
  name: string | null;
  memoryMb: number;
  endpoint: CacheEndpoint | null;
  failureReason: string | null;
  lastFlushedAt: string | null;
  /** Restarts the reconciler made after the container exited. */
  engineRestarts: number;
}

export function initialCacheState(): CacheState {
  return {
    status: 'none',
    cacheId: null,
    tenantId: null,
    name: null,
    memoryMb: 0,
    endpoint: null,
    failureReason: null,
    lastFlushedAt: null,
    engineRestarts: 0,
  };
}

export function evolveCache(state: CacheState, event: CacheEvent): CacheState {
  switch (event.type) {
    case 'CacheCreated':
      return {
        ...initialCacheState(),
        status: 'CREATING',
        cacheId: event.data.cacheId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        memoryMb: event.data.memoryMb,
      };
    case 'CacheRunning':
      return { ...state, status: 'RUNNING', endpoint: event.data.endpoint, failureReason: null };
    case 'CacheFailed':
      return { ...state, status: 'FAILED', failureReason: event.data.reason };
    case 'CacheStopped':
      return { ...state, status: 'STOPPED', failureReason: event.data.reason };
    case 'CacheFlushed':
      return { ...state, lastFlushedAt: event.data.at };
    case 'CacheDeletionStarted':
      return { ...state, status: 'DELETING' };
    case 'CacheDeleted':
      return { ...state, status: 'deleted', endpoint: null };
    case 'CacheEngineRestarted':
      return { ...state, engineRestarts: (state.engineRestarts ?? 0) + 1 };
    case 'CacheEngineLost':
      return { ...state, status: 'FAILED', failureReason: event.data.reason };
    default:
      return state;
  }
}

export function validateCacheMemory(memoryMb: number): void {
  if (
    !Number.isInteger(memoryMb) ||
    memoryMb < CACHE_MEMORY_MIN_MB ||
    memoryMb > CACHE_MEMORY_MAX_MB
  ) {
    throw AppError.validation('memory_mb is out of range', [
      {
        path: 'memory_mb',
        message: `memory_mb must be an integer from ${CACHE_MEMORY_MIN_MB} to ${CACHE_MEMORY_MAX_MB}`,
      },
    ]);
  }
}

export function decideCache(command: CacheCommand, state: CacheState): CacheEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateCache') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `cache ${command.cacheId} already exists`, {
        resource: 'cache',
        id: command.cacheId,
      });
    }
    validateName(command.name);
    validateCacheMemory(command.memoryMb);
    return [
      {
        type: 'CacheCreated',
        data: {
          cacheId: command.cacheId,
          tenantId: command.tenantId,
          name: command.name,
          memoryMb: command.memoryMb,
          at,
        },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'deleted') {
    if (command.type === 'RecordCacheDeleted' && state.status === 'deleted') return [];
    throw AppError.notFound('cache', state.cacheId ?? 'unknown');
  }
  const cacheId = state.cacheId as string;
  const status = state.status;
  switch (command.type) {
    case 'RecordCacheRunning':
      if (status === 'RUNNING' && sameEndpoint(state.endpoint, command.endpoint)) return [];
      if (status === 'DELETING' || status === 'FAILED')
        throw invalidState('cache', cacheId, status, 'record it running');
      return [{ type: 'CacheRunning', data: { cacheId, endpoint: command.endpoint, at } }];
    case 'RecordCacheFailed':
      if (status === 'FAILED' || status === 'DELETING') return [];
      return [
        { type: 'CacheFailed', data: { cacheId, reason: command.reason.slice(0, 1000), at } },
      ];
    case 'RecordCacheStopped':
      if (status !== 'RUNNING') return [];
      return [
        { type: 'CacheStopped', data: { cacheId, reason: command.reason.slice(0, 1000), at } },
      ];
    case 'FlushCache':
      if (status !== 'RUNNING') throw invalidState('cache', cacheId, status, 'flush it');
      return [{ type: 'CacheFlushed', data: { cacheId, at } }];
    case 'DeleteCache':
      if (status === 'DELETING') return [];
      return [{ type: 'CacheDeletionStarted', data: { cacheId, at } }];
    case 'RecordCacheDeleted':
      if (status !== 'DELETING') throw invalidState('cache', cacheId, status, 'record it deleted');
      return [{ type: 'CacheDeleted', data: { cacheId, at } }];
    case 'RecordCacheEngineRestarted':
      if (status !== 'RUNNING') return [];
      return [
        {
          type: 'CacheEngineRestarted',
          data: { cacheId, reason: command.reason.slice(0, 1000), at },
        },
      ];
    case 'RecordCacheEngineLost':
      if (status !== 'RUNNING' && status !== 'STOPPED') return [];
      return [
        { type: 'CacheEngineLost', data: { cacheId, reason: command.reason.slice(0, 1000), at } },
      ];
  }
}

function sameEndpoint(a: CacheEndpoint | null, b: CacheEndpoint): boolean {
  return a !== null && a.host === b.host && a.port === b.port;
}

export const cacheDecider: Decider<CacheCommand, CacheEvent, CacheState> = {
  category: CACHE_CATEGORY,
  initialState: initialCacheState,
  evolve: evolveCache,
  decide: decideCache,
};
