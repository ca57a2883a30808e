/**
 * The price catalog: one aggregate (stream `pricing-catalog-global`) whose events are the price
 * of each SKU and when it takes effect. Billing (projections/billing) reads them: usage is billed
 * at the price in force at each instant, split exactly at `effectiveAt`.
 *
 * SKUs: `instance:<type id>` (micro-USD per instance-hour), `storage:gb` (micro-USD per GB-hour),
 * `network:eip` (per elastic IP hour), `network:natgw` (per NAT gateway hour) and
 * `storage:object-gb` (micro-USD per GiB-hour of a bucket's stored bytes).
 * A price may take effect now or later, never in the past: a change cannot rewrite what was
 * already billed.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { INSTANCE_TYPES } from '../../compute/domain/instance-types';
import type { Micros } from './money';

export const PRICING_CATEGORY = 'pricing-catalog';
export const PRICING_CATALOG_ID = 'global';
export const STORAGE_SKU = 'storage:gb';
/** An elastic IP, per hour while it is allocated. */
export const ELASTIC_IP_SKU = 'network:eip';
/** A NAT gateway, per hour while it is active. */
export const NAT_GATEWAY_SKU = 'network:natgw';
/** A Kubernetes cluster's control plane, per hour from running until its delete or failure. */
export const CLUSTER_SKU = 'clusters:control-plane';
/** A Kubernetes cluster's worker node, per hour from running until its delete (control plane apart). */
export const CLUSTER_NODE_SKU = 'clusters:node';
/** A managed database, per hour while it runs. */
export const DATABASE_SKU = 'data:database';
/** A managed cache, per hour while it runs. */
export const CACHE_SKU = 'data:cache';
/** A managed database's allocated storage, per GB-hour from its creation to its deletion. */
export const DATABASE_STORAGE_SKU = 'data:database-storage-gb';
/** A managed cache's memory, per GiB-hour while it runs (billed per MiB and second). */
export const CACHE_MEMORY_SKU = 'data:cache-memory-gb';
/**
 * Object storage: a bucket's stored bytes, per GiB-hour (billed per byte and second). Its own SKU,
 * not the volumes' `storage:gb`: object and block storage are different products priced apart.
 */
export const OBJECT_STORAGE_SKU = 'storage:object-gb';

/** 0.005 USD per elastic IP hour: the elastic IP price at start-up. */
export const INITIAL_ELASTIC_IP_PRICE_PER_HOUR: Micros = 5_000n;
/** 0.045 USD per NAT gateway hour: the NAT gateway price at start-up. */
export const INITIAL_NAT_GATEWAY_PRICE_PER_HOUR: Micros = 45_000n;
/** 0.10 USD per cluster hour: the control-plane price at start-up. */
export const INITIAL_CLUSTER_PRICE_PER_HOUR: Micros = 100_000n;
/** 0.04 USD per node hour: the worker node price at start-up. */
export const INITIAL_CLUSTER_NODE_PRICE_PER_HOUR: Micros = 40_000n;
/** 0.05 USD per database hour: the managed database price at start-up. */
export const INITIAL_DATABASE_PRICE_PER_HOUR: Micros = 50_000n;
/** 0.02 USD per cache hour: the managed cache price at start-up. */
export const INITIAL_CACHE_PRICE_PER_HOUR: Micros = 20_000n;
/** 0.000160 USD per GB-hour (about 0.115 USD per GB-month): database storage at start-up. */
export const INITIAL_DATABASE_STORAGE_PRICE_PER_GB_HOUR: Micros = 160n;
/** 0.01 USD per GiB-hour of cache memory at start-up. */
export const INITIAL_CACHE_MEMORY_PRICE_PER_GB_HOUR: Micros = 10_000n;

/** 0.000032 USD per GiB-hour (about 0.023 USD per GiB-month): the object storage price at start-up. */
export const INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR: Micros = 32n;

/** 0.000140 USD per GB-hour (about 0.10 USD per GB-month): the storage price at start-up. */
export const INITIAL_STORAGE_PRICE_PER_GB_HOUR: Micros = 140n;

export function instanceSku(typeId: string): string {
  return `instance:${typeId}`;
}

export const SKU_UNITS = [
  'instance-hour',
  'GB-hour',
  'IP-hour',
  'gateway-hour',
  'cluster-hour',
  'node-hour',
  'database-hour',
  'cache-hour',
] as const;
export type SkuUnit = (typeof SKU_UNITS)[number];

/** Every SKU the catalog prices, with its unit and its price when the catalog is first written. */
export function knownSkus(): Array<{ sku: string; unit: SkuUnit; initialPrice: Micros }> {
  return [
    ...INSTANCE_TYPES.map((t) => ({
      sku: instanceSku(t.id),
      unit: 'instance-hour' as const,
      initialPrice: BigInt(t.pricePerHourMicroUsd),
    })),
    { sku: STORAGE_SKU, unit: 'GB-hour', initialPrice: INITIAL_STORAGE_PRICE_PER_GB_HOUR },
    { sku: ELASTIC_IP_SKU, unit: 'IP-hour', initialPrice: INITIAL_ELASTIC_IP_PRICE_PER_HOUR },
    {
      sku: NAT_GATEWAY_SKU,
      unit: 'gateway-hour',
      initialPrice: INITIAL_NAT_GATEWAY_PRICE_PER_HOUR,
    },
    { sku: CLUSTER_SKU, unit: 'cluster-hour', initialPrice: INITIAL_CLUSTER_PRICE_PER_HOUR },
    {
      sku: CLUSTER_NODE_SKU,
      unit: 'node-hour',
      initialPrice: INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
    },
    { sku: DATABASE_SKU, unit: 'database-hour', initialPrice: INITIAL_DATABASE_PRICE_PER_HOUR },
    { sku: CACHE_SKU, unit: 'cache-hour', initialPrice: INITIAL_CACHE_PRICE_PER_HOUR },
    {
      sku: DATABASE_STORAGE_SKU,
      unit: 'GB-hour',
      initialPrice: INITIAL_DATABASE_STORAGE_PRICE_PER_GB_HOUR,
    },
    {
      sku: CACHE_MEMORY_SKU,
      unit: 'GB-hour',
      initialPrice: INITIAL_CACHE_MEMORY_PRICE_PER_GB_HOUR,
    },
    {
      sku: OBJECT_STORAGE_SKU,
      unit: 'GB-hour',
      initialPrice: INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR,
    },
  ];
}

export function unitOfSku(sku: string): SkuUnit | null {
  return knownSkus().find((s) => s.sku === sku)?.unit ?? null;
}

export interface PriceSetData {
  sku: string;
  /** Integer micro-USD per unit-hour, as decimal text (bigints are not JSON). */
  unitPriceMicroUsd: string;
  /** RFC 3339, whole seconds: from this instant on, usage of the SKU is billed at this price. */
  effectiveAt: string;
  reason: string;
}

export type PricingEvent = { type: 'PriceSet'; data: PriceSetData };

export interface SetPrice {
  kind: 'SetPrice';
  sku: string;
  unitPriceMicroUsd: Micros;
  /** Null: now. */
  effectiveAt: Date | null;
  reason: string;
  now: Date;
}

/** Writes the start-up price of every SKU not priced yet (re-running it appends nothing). */
export interface SeedCatalog {
  kind: 'SeedCatalog';
  prices: Array<{ sku: string; unitPriceMicroUsd: Micros }>;
  now: Date;
}

export type PricingCommand = SetPrice | SeedCatalog;

export interface PriceChange {
  sku: string;
  unitPrice: Micros;
  /** Epoch seconds. */
  effectiveAt: number;
  reason: string;
}

export interface PricingState {
  /** Every change in log order. */
  history: PriceChange[];
}

function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The price of `sku` in force at `at` (epoch seconds): the change with the latest effectiveAt
 * not after `at` (the later one in log order on a tie), or null when the SKU had no price yet.
 */
export function priceInForce(
  history: readonly PriceChange[],
  sku: string,
  at: number,
): PriceChange | null {
  let best: PriceChange | null = null;
  for (const change of history) {
    if (change.sku !== sku || change.effectiveAt > at) continue;
    if (!best || change.effectiveAt >= best.effectiveAt) best = change;
  }
  return best;
}

export function priceChangeOf(data: PriceSetData): PriceChange {
  return {
    sku: data.sku,
    unitPrice: BigInt(data.unitPriceMicroUsd),
    effectiveAt: Math.floor(Date.parse(data.effectiveAt) / 1000),
    reason: data.reason,
  };
}

export const priceCatalogDecider: Decider<PricingCommand, PricingEvent, PricingState> = {
  category: PRICING_CATEGORY,
  initialState: () => ({ history: [] }),
  evolve(state, event) {
    if (event.type !== 'PriceSet') return state;
    return { history: [...state.history, priceChangeOf(event.data)] };
  },
  decide(command, state) {
    const now = wholeSeconds(command.now);
    switch (command.kind) {
      case 'SeedCatalog': {
        const priced = new Set(state.history.map((c) => c.sku));
        return command.prices
          .filter((p) => !priced.has(p.sku))
          .map((p) => ({
            type: 'PriceSet' as const,
            data: {
              sku: p.sku,
              unitPriceMicroUsd: p.unitPriceMicroUsd.toString(),
              effectiveAt: isoSeconds(now),
              reason: 'initial catalog',
            },
          }));
      }
      case 'SetPrice': {
        if (unitOfSku(command.sku) === null) {
          throw new AppError('not_found', `no SKU ${command.sku} in the price catalog`);
        }
        if (command.unitPriceMicroUsd < 0n) {
          throw AppError.validation('unit_price must not be negative', [
            { path: 'unit_price', message: 'must be a non-negative amount' },
          ]);
        }
        const effectiveAt = command.effectiveAt ? wholeSeconds(command.effectiveAt) : now;
        if (effectiveAt < now) {
          throw AppError.validation('effective_at is in the past', [
            {
              path: 'effective_at',
              message: 'a price takes effect now or later; past usage is never repriced',
            },
          ]);
        }
        return [
          {
            type: 'PriceSet',
            data: {
              sku: command.sku,
              unitPriceMicroUsd: command.unitPriceMicroUsd.toString(),
              effectiveAt: isoSeconds(effectiveAt),
              reason: command.reason,
            },
          },
        ];
      }
      default: {
        const unreachable: never = command;
        throw new Error(`unknown pricing command ${JSON.stringify(unreachable)}`);
      }
    }
  },
};
