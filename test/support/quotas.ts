import { computeQuotas } from '../../src/compute/application/compute-quotas';
import { DEFAULT_QUOTA_LIMITS, type QuotaLimits } from '../../src/compute/domain';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import { QuotaRegistry, QuotaService } from '../../src/platform/quotas/quota.service';

/** The platform's quota service outside Nest, with compute's quotas declared (tests, fixtures). */
export function computeQuotaService(
  executor: CommandExecutor,
  limits: QuotaLimits = { ...DEFAULT_QUOTA_LIMITS },
): QuotaService {
  const registry = new QuotaRegistry();
  registry.register('compute', computeQuotas(limits));
  return new QuotaService(executor, registry);
}
