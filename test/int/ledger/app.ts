import type { AppConfig } from '../../../src/config/config';
import { startTestApp, type TestApp } from '../../support/app';

/**
 * The app of the ledger tests. Their generated history leaves instances RUNNING that have no
 * container, and they read at a pinned ledger clock in the past. The compute drift reconcile
 * would record those instances as failed at the real time (one `InstanceFailed` each, dated
 * today) whenever its period came round during a test: their usage would then close months
 * after the read clock, and the responses change between two reads. Its start-up pass runs
 * before any history exists; the periodic one is pushed beyond the life of a test file.
 */
export function startLedgerApp(label: string, config: Partial<AppConfig> = {}): Promise<TestApp> {
  return startTestApp({
    label,
    listen: false,
    config: { authRateLimitPerMinute: 1000, computeReconcileIntervalMs: 3_600_000, ...config },
  });
}
