import { DEFAULT_QUOTA_LIMITS, resolveQuotaLimits, type QuotaLimits } from '../domain';

/** Settings of the compute context (environment variables, read once at start-up). */
export interface ComputeOptions {
  /** NIMBUS_QUOTA_INSTANCES, _VCPUS, _MEMORY_MB, _VOLUMES: every tenant's default limits. */
  quotaLimits: QuotaLimits;
  /**
   * NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE=true lets `POST /images/import` fetch from private and
   * loopback addresses (tests serve images on loopback). Off by default (server-side request
   * forgery guard).
   */
  allowPrivateImageImport: boolean;
  /** NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS: period of the drift reconcile (default 15000). */
  reconcileIntervalMs: number;
  /** NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS: period of the console log collector (default 10000). */
  logCollectIntervalMs: number;
  /** Console lines kept per instance (older ones are deleted). */
  maxConsoleLinesPerInstance: number;
  /** Extra labels on every container (tests set NIMBUS_CONTAINER_LABEL=key=value). */
  containerLabels: Record<string, string>;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return n;
}

export function computeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ComputeOptions {
  const label = env.NIMBUS_CONTAINER_LABEL;
  const containerLabels: Record<string, string> = {};
  if (label) {
    const eq = label.indexOf('=');
    if (eq > 0) containerLabels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  return {
    quotaLimits: resolveQuotaLimits({
      instances: int(env, 'NIMBUS_QUOTA_INSTANCES', DEFAULT_QUOTA_LIMITS.instances, 0),
      vcpus: int(env, 'NIMBUS_QUOTA_VCPUS', DEFAULT_QUOTA_LIMITS.vcpus, 0),
      memoryMb: int(env, 'NIMBUS_QUOTA_MEMORY_MB', DEFAULT_QUOTA_LIMITS.memoryMb, 0),
      volumes: int(env, 'NIMBUS_QUOTA_VOLUMES', DEFAULT_QUOTA_LIMITS.volumes, 0),
    }),
    allowPrivateImageImport: env.NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE === 'true',
    reconcileIntervalMs: int(env, 'NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS', 15_000, 100),
    logCollectIntervalMs: int(env, 'NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS', 10_000, 100),
    maxConsoleLinesPerInstance: 5_000,
    containerLabels,
  };
}

export const COMPUTE_OPTIONS = Symbol('COMPUTE_OPTIONS');
