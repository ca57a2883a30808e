import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';
import { COMPUTE_QUOTAS, type QuotaLimits } from '../domain';

/** Compute's quotas, with every tenant's defaults from NIMBUS_QUOTA_* (ComputeOptions). */
export function computeQuotas(defaults: QuotaLimits): QuotaDefinition[] {
  return [
    defineQuota({
      name: COMPUTE_QUOTAS.instances,
      defaultLimit: defaults.instances,
      description: 'live instances (running or stopped, until terminated)',
    }),
    defineQuota({
      name: COMPUTE_QUOTAS.vcpus,
      defaultLimit: defaults.vcpus,
      description: 'vCPUs across live instances',
    }),
    defineQuota({
      name: COMPUTE_QUOTAS.memoryMb,
      defaultLimit: defaults.memoryMb,
      description: 'memory (MiB) across live instances',
    }),
    defineQuota({
      name: COMPUTE_QUOTAS.volumes,
      defaultLimit: defaults.volumes,
      description: 'volumes, attached or not',
    }),
  ];
}
