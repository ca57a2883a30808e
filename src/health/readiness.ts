import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

/** What one dependency reports: `status` is shown as is (CONNECTED, SIMULATED...), `ok` decides. */
export interface ReadinessResult {
  status: string;
  ok: boolean;
  detail?: string;
}

export interface ReadinessCheck {
  /** Key in `/health/ready`'s `checks`: database, eventstore, docker, ovs... */
  readonly name: string;
  check(): Promise<ReadinessResult>;
}

/**
 * Marks a provider class as a readiness check. Any module registers one by listing the class
 * in its providers:
 *
 *   @Injectable() @ReadinessCheckProvider()
 *   export class DockerReadiness implements ReadinessCheck { name = 'docker'; async check() {...} }
 *
 * or, without a class of its own, with `readinessCheckProvider(token, name, inject, check)`.
 * `/health/ready` collects every instance so marked, from every module.
 */
export const READINESS_CHECKS = 'nimbus:readiness-check';

export function ReadinessCheckProvider(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(READINESS_CHECKS, true, target);
  };
}

@ReadinessCheckProvider()
export class FunctionReadinessCheck implements ReadinessCheck {
  constructor(
    readonly name: string,
    private readonly fn: () => Promise<ReadinessResult>,
  ) {}

  check(): Promise<ReadinessResult> {
    return this.fn();
  }
}

/**
 * A factory provider for a readiness check built from other providers:
 * `readinessCheckProvider('DOCKER_READINESS', 'docker', [DockerDriver], (d) => () => d.status())`.
 */
export function readinessCheckProvider<TDeps extends unknown[]>(
  token: string | symbol,
  name: string,
  inject: unknown[],
  build: (...deps: TDeps) => () => Promise<ReadinessResult>,
) {
  return {
    provide: token,
    inject: inject as never[],
    useFactory: (...deps: TDeps) => new FunctionReadinessCheck(name, build(...deps)),
  };
}

export interface ReadinessReport {
  status: 'UP' | 'DEGRADED';
  checks: Record<string, string>;
  details?: Record<string, string>;
  time: string;
}

const CHECK_TIMEOUT_MS = 3000;

@Injectable()
export class ReadinessService {
  private checks: ReadinessCheck[] | undefined;

  constructor(private readonly discovery: DiscoveryService) {}

  /** Every registered check, discovered once (all providers exist by the first request). */
  registered(): ReadinessCheck[] {
    if (!this.checks) {
      const seen = new Set<unknown>();
      this.checks = [];
      for (const wrapper of this.discovery.getProviders()) {
        const instance: unknown = wrapper.instance;
        if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
        if (!wrapper.isDependencyTreeStatic()) continue;
        if (Reflect.getMetadata(READINESS_CHECKS, instance.constructor) !== true) continue;
        seen.add(instance);
        this.checks.push(instance as ReadinessCheck);
      }
      this.checks.sort((a, b) => a.name.localeCompare(b.name));
    }
    return this.checks;
  }

  async report(now: () => Date = () => new Date()): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.registered().map(async (c) => [c.name, await runCheck(c)] as const),
    );
    const checks: Record<string, string> = {};
    const details: Record<string, string> = {};
    let ok = true;
    for (const [name, result] of results) {
      checks[name] = result.status;
      if (result.detail) details[name] = result.detail;
      ok &&= result.ok;
    }
    const report: ReadinessReport = {
      status: ok ? 'UP' : 'DEGRADED',
      checks,
      time: now().toISOString(),
    };
    if (Object.keys(details).length > 0) report.details = details;
    return report;
  }
}

async function runCheck(check: ReadinessCheck): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 'TIMEOUT',
          ok: false,
          detail: `no answer within ${CHECK_TIMEOUT_MS} ms`,
        }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      check.check().catch((err: unknown): ReadinessResult => ({
        status: 'ERROR',
        ok: false,
        detail: err instanceof Error ? err.message : String(err),
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
