import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { uuidV5 } from '../../common/ids';
import { CommandExecutor } from '../../eventstore/command-executor';
import { Clock } from '../../platform/clock';
import { systemContext } from '../../platform/commands/system-context';
import {
  knownSkus,
  PRICING_CATALOG_ID,
  priceCatalogDecider,
  priceInForce,
  type PriceChange,
} from '../domain/price-catalog';

const logger = new Logger('pricing');

export interface PriceCatalogView {
  /** Every change in log order. */
  history: PriceChange[];
  /** Per SKU, the price in force at `at` (null when not priced yet). */
  inForce: Array<{ sku: string; change: PriceChange | null }>;
  /** Changes that take effect after `at`. */
  scheduled: PriceChange[];
}

/** The start-up catalog and reads of the price catalog aggregate (stream `pricing-catalog-global`). */
@Injectable()
export class PricingService implements OnApplicationBootstrap {
  constructor(
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the start-up catalog (instance types' prices, storage per GB-hour) for every SKU not
   * priced yet. The command id depends only on the SKU list, so a restart appends nothing and
   * two processes starting at once append it once (the loser re-decides on the new revision).
   */
  async onApplicationBootstrap(): Promise<void> {
    const prices = knownSkus().map((s) => ({ sku: s.sku, unitPriceMicroUsd: s.initialPrice }));
    const now = this.clock.now();
    const result = await this.executor.execute(
      priceCatalogDecider,
      PRICING_CATALOG_ID,
      { kind: 'SeedCatalog', prices, now },
      systemContext('pricing', {
        commandId: uuidV5(`pricing-catalog/seed/${prices.map((p) => p.sku).join(',')}`),
        now,
      }),
    );
    if (result.events.length > 0) logger.log(`priced ${result.events.length} SKU(s) at start-up`);
  }

  async catalog(at: number): Promise<PriceCatalogView> {
    const { state } = await this.executor.load(priceCatalogDecider, PRICING_CATALOG_ID);
    const skus = [
      ...new Set([...knownSkus().map((s) => s.sku), ...state.history.map((c) => c.sku)]),
    ];
    return {
      history: state.history,
      inForce: skus.map((sku) => ({ sku, change: priceInForce(state.history, sku, at) })),
      scheduled: state.history.filter((c) => c.effectiveAt > at),
    };
  }
}
