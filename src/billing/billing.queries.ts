import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  METERS,
  presentSummary,
  presentUsageRecord,
  totalsOf,
  type BilledUsage,
  type BillingPeriod,
  type BillingSummaryJson,
  type MeterName,
  type OpenUsage,
  type ResourceType,
  type UsageRecordJson,
} from './domain';
import { PG_POOL } from '../platform/tokens';
import type { BillingReads } from './ports/billing-reads';
import { loadPriceHistory } from '../../projections/billing/billing.projection';
import type { PriceChange } from './domain/price-catalog';
import { billOpenUsageAtPrices } from './domain/scheduled-prices';

/** Sort key of a usage record: start, resource id, end (epoch seconds). */
export type UsageSortKey = [number, string, number];

export interface UsageFilter {
  resourceId?: string;
  resourceType?: ResourceType;
}

interface UsageRowDb {
  resource_id: string;
  start_at: string;
  end_at: string;
  period: string;
  resource_type: ResourceType;
  meter: MeterName;
  unit: string;
  description: string;
  /** bigint: text from the driver. */
  quantity: string | number;
  unit_price: string;
  amount: string;
}

interface OpenRowDb {
  resource_id: string;
  open_meter: MeterName;
  open_description: string;
  open_quantity: string | number;
  open_unit_price: string;
  open_start: string;
  sku: string | null;
}

/** Open usage with the SKU it is billed under (price changes of that SKU split it). */
export interface OpenUsageOfSku extends OpenUsage {
  sku: string | null;
}

function isMissingTable(err: unknown): boolean {
  return (err as { code?: string }).code === '42P01';
}

function compareKeys(a: UsageSortKey, b: UsageSortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

export function usageKeyOf(u: BilledUsage): UsageSortKey {
  return [u.start, u.resourceId, u.end];
}

/**
 * Reads of the billing read model (projections/billing): closed intervals from `billing_usage`,
 * open usage from `billing_meters` billed up to `now`.
 */
@Injectable()
export class BillingQueries implements BillingReads {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      if (isMissingTable(err)) return [];
      throw err;
    }
  }

  /** The price history the billing projection has seen, in log order. */
  async priceHistory(): Promise<PriceChange[]> {
    return loadPriceHistory((sql, params) => this.rows(sql, params));
  }

  /**
   * Open usage billed inside a period up to `now`: split at every price change of its SKU that took
   * effect by `now` (the same split the projection writes at the resource's next fact).
   */
  private async billedOpenUsage(
    tenantId: string,
    period: BillingPeriod,
    now: number,
    filter: UsageFilter = {},
  ): Promise<BilledUsage[]> {
    const open = await this.openUsage(tenantId, filter);
    if (open.length === 0) return [];
    const history = await this.priceHistory();
    const out: BilledUsage[] = [];
    for (const { sku, ...usage } of open) {
      out.push(...billOpenUsageAtPrices(usage, sku, history, period, now));
    }
    return out;
  }

  async openUsage(tenantId: string, filter: UsageFilter = {}): Promise<OpenUsageOfSku[]> {
    const rows = await this.rows<OpenRowDb>(
      `SELECT resource_id, open_meter, open_description, open_quantity, open_unit_price, open_start,
              sku
         FROM billing_meters
        WHERE tenant_id = $1 AND open_meter IS NOT NULL AND ($2::text IS NULL OR resource_id = $2)
        ORDER BY resource_id`,
      [tenantId, filter.resourceId ?? null],
    );
    return rows
      .filter((r) => r.open_meter in METERS)
      .map((r) => ({
        resourceId: r.resource_id,
        resourceType: METERS[r.open_meter].resourceType,
        meter: r.open_meter,
        unit: METERS[r.open_meter].unit,
        description: r.open_description,
        quantity: Number(r.open_quantity),
        unitPrice: BigInt(r.open_unit_price),
        start: Number(r.open_start),
        sku: r.sku,
      }))
      .filter((u) => !filter.resourceType || u.resourceType === filter.resourceType);
  }

  async summary(tenantId: string, period: BillingPeriod, now: number): Promise<BillingSummaryJson> {
    const sums = await this.rows<{ resource_type: ResourceType; total: string }>(
      `SELECT resource_type, SUM(amount)::text AS total FROM billing_usage
        WHERE tenant_id = $1 AND period = $2 GROUP BY resource_type`,
      [tenantId, period.key],
    );
    const items: Array<{ resourceType: ResourceType; amount: bigint }> = sums.map((s) => ({
      resourceType: s.resource_type,
      amount: BigInt(s.total),
    }));
    for (const piece of await this.billedOpenUsage(tenantId, period, now)) {
      items.push({ resourceType: piece.resourceType, amount: piece.amount });
    }
    return presentSummary(totalsOf(period, items));
  }

  /** Up to `limit` records of the period after `after`, in (start, resource id, end) order. */
  async usage(
    tenantId: string,
    period: BillingPeriod,
    now: number,
    filter: UsageFilter,
    after: UsageSortKey | null,
    limit: number,
  ): Promise<BilledUsage[]> {
    const closed = await this.rows<UsageRowDb>(
      `SELECT resource_id, start_at::text, end_at::text, period, resource_type, meter, unit,
              description, quantity, unit_price::text, amount::text
         FROM billing_usage
        WHERE tenant_id = $1 AND period = $2
          AND ($3::text IS NULL OR resource_id = $3)
          AND ($4::text IS NULL OR resource_type = $4)
          AND ($5::bigint IS NULL OR (start_at, resource_id, end_at) > ($5::bigint, $6::text, $7::bigint))
        ORDER BY start_at, resource_id, end_at
        LIMIT $8`,
      [
        tenantId,
        period.key,
        filter.resourceId ?? null,
        filter.resourceType ?? null,
        after ? String(after[0]) : null,
        after ? after[1] : null,
        after ? String(after[2]) : null,
        limit,
      ],
    );
    const items: BilledUsage[] = closed.map((r) => ({
      resourceId: r.resource_id,
      resourceType: r.resource_type,
      meter: r.meter,
      unit: r.unit,
      description: r.description,
      quantity: Number(r.quantity),
      unitPrice: BigInt(r.unit_price),
      start: Number(r.start_at),
      end: Number(r.end_at),
      period: r.period,
      amount: BigInt(r.amount),
      ongoing: false,
    }));
    for (const piece of await this.billedOpenUsage(tenantId, period, now, filter)) {
      if (!after || compareKeys(usageKeyOf(piece), after) > 0) items.push(piece);
    }
    return items.sort((a, b) => compareKeys(usageKeyOf(a), usageKeyOf(b))).slice(0, limit);
  }

  /** Every record of a period (reports), in order. */
  async allUsage(tenantId: string, period: BillingPeriod, now: number): Promise<BilledUsage[]> {
    const out: BilledUsage[] = [];
    let after: UsageSortKey | null = null;
    for (;;) {
      const page = await this.usage(tenantId, period, now, {}, after, 1000);
      out.push(...page);
      if (page.length < 1000) return out;
      after = usageKeyOf(page[page.length - 1]);
    }
  }
}

export function presentUsage(items: BilledUsage[]): UsageRecordJson[] {
  return items.map(presentUsageRecord);
}
