import type { AppConfig } from '../../config/config';
import { resolveQuotaLimits, type QuotaLimits } from '../domain';

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

/** The compute settings out of the validated application configuration (src/config). */
export function computeOptionsFrom(config: AppConfig): ComputeOptions {
  return {
    quotaLimits: resolveQuotaLimits(config.quota),
    allowPrivateImageImport: config.imageImportAllowPrivate,
    reconcileIntervalMs: config.computeReconcileIntervalMs,
    logCollectIntervalMs: config.computeLogCollectIntervalMs,
    maxConsoleLinesPerInstance: 5_000,
    containerLabels: config.containerLabel
      ? { [config.containerLabel.key]: config.containerLabel.value }
      : {},
  };
}

export const COMPUTE_OPTIONS = Symbol('COMPUTE_OPTIONS');
