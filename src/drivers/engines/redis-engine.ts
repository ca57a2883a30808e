/**
 * Redis caches on nimbus/redis:7 (docker/engine-images/redis-7): one container per cache, its
 * maxmemory and container memory limit from the cache's size, the default user's password given
 * to the container only as its SHA-256 (Redis ACL `#<hash>`). Talks to the server with ioredis.
 */
import { createHash } from 'node:crypto';
import Redis from 'ioredis';

import { ENGINE_HOST, EngineContainers, type EngineContainer } from './engine-containers';

export const REDIS_IMAGE = 'nimbus/redis:7';

export interface CacheEndpointInfo {
  host: string;
  port: number;
}

export interface CacheStats {
  redis_version: string;
  uptime_seconds: number;
  connected_clients: number;
  used_memory_bytes: number;
  maxmemory_bytes: number;
  maxmemory_policy: string;
  keys: number;
  keyspace_hits: number;
  keyspace_misses: number;
  evicted_keys: number;
  expired_keys: number;
  total_commands_processed: number;
}

export interface CacheRuntime {
  running: boolean;
  memoryLimitBytes: number;
  endpoint: CacheEndpointInfo;
}

/** What the data context needs from a cache engine (its port CacheEngine). */
export interface CacheEngineDriver {
  readonly image: string;
  imagePresent(): Promise<boolean>;
  ensure(spec: {
    cacheId: string;
    tenantId: string;
    memoryMb: number;
    password: string;
  }): Promise<CacheEndpointInfo>;
  waitReady(endpoint: CacheEndpointInfo, password: string, signal?: AbortSignal): Promise<void>;
  describe(cacheId: string): Promise<CacheRuntime | null>;
  remove(cacheId: string): Promise<void>;
  flush(endpoint: CacheEndpointInfo, password: string): Promise<void>;
  stats(endpoint: CacheEndpointInfo, password: string): Promise<CacheStats>;
  /** Running caches' ids on this installation (for drift checks). */
  list(): Promise<Array<{ cacheId: string; running: boolean }>>;
  /** Start-if-stopped and stop-if-running of an existing container (the drift reconciler). */
  start(cacheId: string): Promise<void>;
  stop(cacheId: string): Promise<void>;
}

export function cacheContainerName(cacheId: string): string {
  return `nimbus-cache-${cacheId}`;
}

export function parseRedisInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

export function cacheStatsFrom(info: Record<string, string>): CacheStats {
  const n = (key: string) => Number(info[key] ?? 0) || 0;
  let keys = 0;
  for (const [key, value] of Object.entries(info)) {
    const m = /^db\d+$/.test(key) ? /keys=(\d+)/.exec(value) : null;
    if (m) keys += Number(m[1]);
  }
  return {
    redis_version: info.redis_version ?? 'unknown',
    uptime_seconds: n('uptime_in_seconds'),
    connected_clients: n('connected_clients'),
    used_memory_bytes: n('used_memory'),
    maxmemory_bytes: n('maxmemory'),
    maxmemory_policy: info.maxmemory_policy ?? 'unknown',
    keys,
    keyspace_hits: n('keyspace_hits'),
    keyspace_misses: n('keyspace_misses'),
    evicted_keys: n('evicted_keys'),
    expired_keys: n('expired_keys'),
    total_commands_processed: n('total_commands_processed'),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisEngine implements CacheEngineDriver {
  readonly image = REDIS_IMAGE;

  constructor(private readonly containers: EngineContainers) {}

  imagePresent(): Promise<boolean> {
    return this.containers.imagePresent(REDIS_IMAGE);
  }

  async ensure(spec: {
    cacheId: string;
    tenantId: string;
    memoryMb: number;
    password: string;
  }): Promise<CacheEndpointInfo> {
    const hash = createHash('sha256').update(spec.password, 'utf8').digest('hex');
    const container: EngineContainer = await this.containers.ensureRunning({
      name: cacheContainerName(spec.cacheId),
      image: REDIS_IMAGE,
      engine: 'redis',
      kind: 'cache',
      resourceId: spec.cacheId,
      tenantId: spec.tenantId,
      role: 'server',
      // Redis's own overhead (buffers, fragmentation) is outside maxmemory: the limit is the size.
      memoryBytes: spec.memoryMb * 1024 * 1024,
      env: (port) => [
        `NIMBUS_REDIS_PORT=${port}`,
        `NIMBUS_REDIS_MAXMEMORY_MB=${spec.memoryMb}`,
        `NIMBUS_REDIS_PASSWORD_SHA256=${hash}`,
      ],
    });
    return { host: ENGINE_HOST, port: container.port };
  }

  private client(endpoint: CacheEndpointInfo, password: string): Redis {
    return new Redis({
      host: endpoint.host,
      port: endpoint.port,
      username: 'default',
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      connectTimeout: 2000,
    });
  }

  private async withClient<T>(
    endpoint: CacheEndpointInfo,
    password: string,
    fn: (r: Redis) => Promise<T>,
  ): Promise<T> {
    const redis = this.client(endpoint, password);
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  async waitReady(
    endpoint: CacheEndpointInfo,
    password: string,
    signal?: AbortSignal,
  ): Promise<void> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 600; attempt++) {
      if (signal?.aborted) break;
      try {
        const pong = await this.withClient(endpoint, password, (r) => r.ping());
        if (pong === 'PONG') return;
      } catch (error) {
        lastError = error;
      }
      await sleep(100);
    }
    throw new Error(
      `redis on ${endpoint.host}:${endpoint.port} did not become ready: ${String(lastError)}`,
    );
  }

  async describe(cacheId: string): Promise<CacheRuntime | null> {
    const c = await this.containers.inspect(cacheContainerName(cacheId));
    if (!c) return null;
    return {
      running: c.running,
      memoryLimitBytes: c.memoryBytes,
      endpoint: { host: ENGINE_HOST, port: c.port },
    };
  }

  remove(cacheId: string): Promise<void> {
    return this.containers.remove(cacheContainerName(cacheId));
  }

  start(cacheId: string): Promise<void> {
    return this.containers.start(cacheContainerName(cacheId));
  }

  stop(cacheId: string): Promise<void> {
    return this.containers.stop(cacheContainerName(cacheId));
  }

  async flush(endpoint: CacheEndpointInfo, password: string): Promise<void> {
    await this.withClient(endpoint, password, (r) => r.flushall());
  }

  async stats(endpoint: CacheEndpointInfo, password: string): Promise<CacheStats> {
    const info = await this.withClient(endpoint, password, (r) => r.info());
    return cacheStatsFrom(parseRedisInfo(info));
  }

  async list(): Promise<Array<{ cacheId: string; running: boolean }>> {
    const rows = await this.containers.list('cache');
    return rows.map((r) => ({
      cacheId: r.labels['nimbus.engine-resource'] ?? '',
      running: r.running,
    }));
  }
}
