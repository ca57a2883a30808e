import { Inject, Injectable, type FactoryProvider, type InjectionToken } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { derivedContext } from '../commands/system-context';
import { KeyedMutex } from '../../common/keyed-mutex';
import {
  effectiveLimits,
  quotaLedgerDecider,
  usageOf,
  type QuotaAmounts,
  type QuotaDefinition,
  type QuotaHolding,
} from './quota-ledger';

/** Every quota the application's families declared (`provideQuotas`), by name. */
@Injectable()
export class QuotaRegistry {
  private readonly byName = new Map<string, QuotaDefinition & { context: string }>();

  register(context: string, definitions: readonly QuotaDefinition[]): void {
    for (const definition of definitions) {
      const existing = this.byName.get(definition.name);
      if (existing) {
        throw new Error(
          `quota ${definition.name} is declared twice (by ${existing.context} and ${context})`,
        );
      }
      this.byName.set(definition.name, { ...definition, context });
    }
  }

  definitions(): Array<QuotaDefinition & { context: string }> {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  defaults(): Record<string, number> {
    return Object.fromEntries([...this.byName.values()].map((d) => [d.name, d.defaultLimit]));
  }
}

/**
 * A context declares its families' quotas in its own module:
 *
 *   providers: [provideQuotas('network', [defineQuota({ name: 'elastic_ips', defaultLimit: 5, description: '...' })])]
 *   providers: [provideQuotas('compute', { inject: [COMPUTE_OPTIONS], useFactory: (o) => computeQuotas(o) })]
 */
export function provideQuotas<TDeps extends unknown[]>(
  context: string,
  quotas:
    | readonly QuotaDefinition[]
    | {
        inject: { [K in keyof TDeps]: InjectionToken };
        useFactory: (...deps: TDeps) => readonly QuotaDefinition[];
      },
): FactoryProvider {
  const { inject, useFactory } =
    'useFactory' in quotas ? quotas : { inject: [] as InjectionToken[], useFactory: () => quotas };
  return {
    provide: Symbol(`QUOTAS_OF_${context}`),
    inject: [QuotaRegistry, ...inject],
    useFactory: (registry: QuotaRegistry, ...deps: unknown[]) => {
      const definitions = useFactory(...(deps as TDeps));
      registry.register(context, definitions);
      return definitions;
    },
  };
}

/** What sagas and other ports need of the quota service. */
export type QuotaReservations = Pick<QuotaService, 'reserve' | 'release'>;

/** One quota of a tenant, as operators see it. */
export interface TenantQuota {
  name: string;
  description: string;
  context: string;
  defaultLimit: number;
  /** The limit in force: the operator's override, else the default. */
  limit: number;
  overridden: boolean;
  usage: number;
}

/** A holder the caller reserves for: the resource's id and family. */
export interface QuotaHolder {
  id: string;
  kind: string;
}

function amountsKey(amounts: QuotaAmounts): string {
  return Object.keys(amounts)
    .sort()
    .map((name) => `${name}=${amounts[name]}`)
    .join(',');
}

/** What a reservation or release did. */
export interface QuotaWrite {
  /** False when it changed nothing (a repeat, or a release of a holder that holds nothing). */
  changed: boolean;
  /** The ledger position the answer rests on (read-your-writes of a use case that shows usage). */
  position: Position | null;
}

/** The ledger is contended by every create of a tenant: more attempts than a resource's stream. */
const LEDGER_ATTEMPTS = 30;

/**
 * Per-tenant quotas for every family (see quota-ledger.ts for how usage is counted race-free).
 *
 *   await quotas.reserve(tenantId, { id: bucketId, kind: 'bucket' }, { buckets: 1 }, ctx);
 *   ...append BucketCreated; on failure: await quotas.release(tenantId, bucketId, ctx)
 *
 * An exceeded quota throws 403 `quota_exceeded` and appends nothing.
 */
@Injectable()
export class QuotaService {
  /** Serialises one tenant's ledger writes in this process; other processes retry on conflict. */
  private readonly ledgers = new KeyedMutex();

  constructor(
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    private readonly registry: QuotaRegistry,
  ) {}

  /**
   * Reserves `amounts` for `holder` (idempotent per holder; other amounts re-size and check only
   * the increase).
   */
  async reserve(
    tenantId: string,
    holder: QuotaHolder,
    amounts: QuotaAmounts,
    ctx: CommandContext,
  ): Promise<QuotaWrite> {
    const defaults = this.registry.defaults();
    const undeclared = Object.keys(amounts).filter((name) => !Object.hasOwn(defaults, name));
    if (undeclared.length > 0) {
      throw new Error(`quota ${undeclared.join(', ')} is not declared (provideQuotas)`);
    }
    const result = await this.ledgers.run(tenantId, () =>
      this.executor.execute(
        quotaLedgerDecider,
        tenantId,
        {
          type: 'ReserveQuota',
          tenantId,
          holderId: holder.id,
          holderKind: holder.kind,
          amounts,
          defaults,
          now: ctx.now,
        },
        // Per holder and amounts: a retry reuses the id, a re-size (and its undo) gets its own.
        derivedContext(ctx, `quota/reserve/${holder.id}/${amountsKey(amounts)}`, { tenantId }),
        LEDGER_ATTEMPTS,
      ),
    );
    return { changed: result.events.length > 0, position: result.position };
  }

  /**
   * Changes what `holder` holds by `delta` (signed; amounts never go below 0), decided on the
   * ledger's state, so concurrent adjustments of one holder add up. Only an increase is checked
   * (403 `quota_exceeded`, nothing appended). `step` names the adjustment within the command
   * (a retry of the command with the same step is a no-op).
   */
  async adjust(
    tenantId: string,
    holder: QuotaHolder,
    delta: QuotaAmounts,
    ctx: CommandContext,
    step: string,
  ): Promise<QuotaWrite> {
    const defaults = this.registry.defaults();
    const undeclared = Object.keys(delta).filter((name) => !Object.hasOwn(defaults, name));
    if (undeclared.length > 0) {
      throw new Error(`quota ${undeclared.join(', ')} is not declared (provideQuotas)`);
    }
    if (Object.values(delta).every((d) => d === 0)) return { changed: false, position: null };
    const result = await this.ledgers.run(tenantId, () =>
      this.executor.execute(
        quotaLedgerDecider,
        tenantId,
        {
          type: 'AdjustQuota',
          tenantId,
          holderId: holder.id,
          holderKind: holder.kind,
          delta,
          defaults,
          now: ctx.now,
        },
        derivedContext(ctx, `quota/adjust/${holder.id}/${step}`, { tenantId }),
        LEDGER_ATTEMPTS,
      ),
    );
    return { changed: result.events.length > 0, position: result.position };
  }

  /** Releases what `holderId` holds; a no-op when it holds nothing. */
  async release(tenantId: string, holderId: string, ctx: CommandContext): Promise<QuotaWrite> {
    const result = await this.ledgers.run(tenantId, () =>
      this.executor.execute(
        quotaLedgerDecider,
        tenantId,
        { type: 'ReleaseQuota', tenantId, holderId, now: ctx.now },
        derivedContext(ctx, `quota/release/${holderId}`, { tenantId }),
        LEDGER_ATTEMPTS,
      ),
    );
    return { changed: result.events.length > 0, position: result.position };
  }

  /** What `holderId` holds in the tenant's ledger, or null. */
  async holding(tenantId: string, holderId: string): Promise<QuotaHolding | null> {
    const { state } = await this.executor.load(quotaLedgerDecider, tenantId);
    return state.holdings[holderId] ?? null;
  }

  /** Every declared quota of the tenant: limit in force, default, usage (read from the ledger). */
  async ofTenant(tenantId: string): Promise<TenantQuota[]> {
    const { state } = await this.executor.load(quotaLedgerDecider, tenantId);
    const limits = effectiveLimits(this.registry.defaults(), state.overrides);
    const usage = usageOf(state);
    return this.registry.definitions().map((d) => ({
      name: d.name,
      description: d.description,
      context: d.context,
      defaultLimit: d.defaultLimit,
      limit: limits[d.name],
      overridden: Object.hasOwn(state.overrides, d.name),
      usage: usage[d.name] ?? 0,
    }));
  }

  /**
   * An operator's per-tenant limits (`null`: back to the default), recorded as
   * QuotaLimitsOverridden in the tenant's ledger (audited as QUOTA_OVERRIDE). Limits below the
   * current usage are allowed: nothing is taken away, new reservations are refused.
   */
  async override(
    tenantId: string,
    limits: Readonly<Record<string, number | null>>,
    ctx: CommandContext,
  ): Promise<Position | null> {
    if (Object.keys(limits).length === 0) {
      throw AppError.validation('name at least one quota', [
        { path: '', message: 'must name at least one quota' },
      ]);
    }
    const result = await this.ledgers.run(tenantId, () =>
      this.executor.execute(
        quotaLedgerDecider,
        tenantId,
        {
          type: 'OverrideQuotaLimits',
          tenantId,
          limits,
          defaults: this.registry.defaults(),
          now: ctx.now,
        },
        { ...ctx, tenantId },
        LEDGER_ATTEMPTS,
      ),
    );
    return result.position;
  }
}
