import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  knownSkus,
  priceCatalogDecider,
  priceChangeOf,
  priceInForce,
  type PricingEvent,
} from './price-catalog';

const NOW = new Date('2026-03-10T12:00:00.750Z');

function priceSet(sku: string, micros: string, effectiveAt: string, reason = 'r'): PricingEvent {
  return { type: 'PriceSet', data: { sku, unitPriceMicroUsd: micros, effectiveAt, reason } };
}

describe('price catalog decider', () => {
  it('seeds every known SKU once, effective now (whole seconds)', () => {
    const prices = knownSkus().map((s) => ({ sku: s.sku, unitPriceMicroUsd: s.initialPrice }));
    spec(priceCatalogDecider)
      .given([])
      .when({ kind: 'SeedCatalog', prices: prices.slice(0, 2), now: NOW })
      .then([
        priceSet('instance:basic-1', '10000', '2026-03-10T12:00:00Z', 'initial catalog'),
        priceSet('instance:basic-2', '20000', '2026-03-10T12:00:00Z', 'initial catalog'),
      ]);
    expect(prices.find((p) => p.sku === 'storage:gb')?.unitPriceMicroUsd).toBe(140n);
  });

  it('re-seeding appends only the SKUs not priced yet', () => {
    spec(priceCatalogDecider)
      .given([priceSet('storage:gb', '150', '2026-01-01T00:00:00Z')])
      .when({
        kind: 'SeedCatalog',
        prices: [
          { sku: 'storage:gb', unitPriceMicroUsd: 140n },
          { sku: 'instance:basic-1', unitPriceMicroUsd: 10_000n },
        ],
        now: NOW,
      })
      .then([priceSet('instance:basic-1', '10000', '2026-03-10T12:00:00Z', 'initial catalog')]);
    spec(priceCatalogDecider)
      .given([priceSet('storage:gb', '150', '2026-01-01T00:00:00Z')])
      .when({
        kind: 'SeedCatalog',
        prices: [{ sku: 'storage:gb', unitPriceMicroUsd: 140n }],
        now: NOW,
      })
      .then([]);
  });

  it('sets a price now or in the future', () => {
    spec(priceCatalogDecider)
      .given([])
      .when({
        kind: 'SetPrice',
        sku: 'storage:gb',
        unitPriceMicroUsd: 200n,
        effectiveAt: null,
        reason: 'disk costs',
        now: NOW,
      })
      .then([priceSet('storage:gb', '200', '2026-03-10T12:00:00Z', 'disk costs')]);
    spec(priceCatalogDecider)
      .given([])
      .when({
        kind: 'SetPrice',
        sku: 'instance:basic-2',
        unitPriceMicroUsd: 25_000n,
        effectiveAt: new Date('2026-04-01T00:00:00Z'),
        reason: 'april',
        now: NOW,
      })
      .then([priceSet('instance:basic-2', '25000', '2026-04-01T00:00:00Z', 'april')]);
  });

  it('accepts an effective time within the command second, refuses an earlier one', () => {
    const base = {
      kind: 'SetPrice' as const,
      sku: 'storage:gb',
      unitPriceMicroUsd: 200n,
      reason: 'r',
      now: NOW,
    };
    spec(priceCatalogDecider)
      .given([])
      .when({ ...base, effectiveAt: new Date('2026-03-10T12:00:00.100Z') })
      .then([priceSet('storage:gb', '200', '2026-03-10T12:00:00Z')]);
    spec(priceCatalogDecider)
      .given([])
      .when({ ...base, effectiveAt: new Date('2026-03-10T11:59:59Z') })
      .thenThrows('validation_error', /past/);
  });

  it('refuses an unknown SKU and a negative price', () => {
    const base = { kind: 'SetPrice' as const, effectiveAt: null, reason: 'r', now: NOW };
    spec(priceCatalogDecider)
      .given([])
      .when({ ...base, sku: 'instance:nope', unitPriceMicroUsd: 1n })
      .thenThrows('not_found');
    spec(priceCatalogDecider)
      .given([])
      .when({ ...base, sku: 'storage:gb', unitPriceMicroUsd: -1n })
      .thenThrows('validation_error');
  });
});

describe('priceInForce', () => {
  const history = [
    priceSet('storage:gb', '140', '2026-01-01T00:00:00Z'),
    priceSet('storage:gb', '200', '2026-03-01T00:00:00Z'),
    priceSet('storage:gb', '210', '2026-03-01T00:00:00Z'),
    priceSet('instance:basic-1', '9', '2026-02-01T00:00:00Z'),
  ].map((e) => priceChangeOf(e.data));
  const at = (iso: string) => Date.parse(iso) / 1000;

  it.each([
    ['2025-12-31T23:59:59Z', null],
    ['2026-01-01T00:00:00Z', 140n],
    ['2026-02-28T23:59:59Z', 140n],
    ['2026-03-01T00:00:00Z', 210n], // the later of two changes at the same instant
    ['2026-06-01T00:00:00Z', 210n],
  ])('storage at %s', (iso, expected) => {
    expect(priceInForce(history, 'storage:gb', at(iso))?.unitPrice ?? null).toBe(expected);
  });
});
