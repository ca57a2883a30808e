/**
 * Compute's quotas, enforced by the platform's quota service (src/platform/quotas): the names,
 * every tenant's default limits (NIMBUS_QUOTA_*), and what one instance or volume holds. An
 * instance holds its reservation for its whole life, running or stopped, until it is released
 * (launch failed, or terminated); a resize re-sizes it.
 */

/** The holder kinds compute reserves for (the platform ledger's `holderKind`). */
export const INSTANCE_HOLDER = 'instance';
export const VOLUME_HOLDER = 'volume';

/** Compute's quota names, as the API and the ledger spell them. */
export const COMPUTE_QUOTAS = {
  instances: 'instances',
  vcpus: 'vcpus',
  memoryMb: 'memory_mb',
  volumes: 'volumes',
} as const;

export type QuotaResource = keyof typeof COMPUTE_QUOTAS;
export type QuotaLimits = Record<QuotaResource, number>;

export const DEFAULT_QUOTA_LIMITS: Readonly<QuotaLimits> = Object.freeze({
  instances: 10,
  vcpus: 16,
  memoryMb: 32768,
  volumes: 20,
});

/** Defaults with overrides on top; a limit must be a non-negative integer. */
export function resolveQuotaLimits(
  overrides: Partial<QuotaLimits> = {},
  defaults: Readonly<QuotaLimits> = DEFAULT_QUOTA_LIMITS,
): QuotaLimits {
  const limits: QuotaLimits = { ...defaults };
  for (const resource of Object.keys(COMPUTE_QUOTAS) as QuotaResource[]) {
    const value = overrides[resource];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`quota ${resource} must be a non-negative integer, got ${value}`);
    }
    limits[resource] = value;
  }
  return limits;
}

/** What an instance of this size holds: one instance, its vCPUs and its memory. */
export function instanceQuotaAmounts(size: {
  vcpus: number;
  memoryMb: number;
}): Record<string, number> {
  if (
    !Number.isSafeInteger(size.vcpus) ||
    size.vcpus <= 0 ||
    !Number.isSafeInteger(size.memoryMb) ||
    size.memoryMb <= 0
  ) {
    throw new RangeError('an instance type has positive integer vcpus and memory');
  }
  return {
    [COMPUTE_QUOTAS.instances]: 1,
    [COMPUTE_QUOTAS.vcpus]: size.vcpus,
    [COMPUTE_QUOTAS.memoryMb]: size.memoryMb,
  };
}

/** What a volume holds. */
export const VOLUME_QUOTA_AMOUNTS: Readonly<Record<string, number>> = Object.freeze({
  [COMPUTE_QUOTAS.volumes]: 1,
});
