import { CommandHandler } from '@nestjs/cqrs';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { UseCaseCommand, UseCaseHandler, type Handled } from '../../platform/commands/use-case';
import type { Micros } from '../domain/money';
import {
  PRICING_CATALOG_ID,
  priceCatalogDecider,
  type PriceSetData,
} from '../domain/price-catalog';

/**
 * PUT /admin/prices/:sku: an operator prices a SKU from now or a later instant. The catalog is the
 * platform's, not the operator's tenant's: its events carry no tenant. Reads of the catalog fold
 * its stream, so there is no read model to wait for.
 */
export class SetPrice extends UseCaseCommand<PriceSetData> {
  constructor(
    readonly sku: string,
    readonly unitPriceMicroUsd: Micros,
    readonly effectiveAt: Date | null,
    readonly reason: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(SetPrice)
export class SetPriceHandler extends UseCaseHandler<SetPrice, PriceSetData> {
  constructor(private readonly executor: CommandExecutor) {
    super();
  }

  protected async handle(command: SetPrice): Promise<Handled<PriceSetData>> {
    const { sku, unitPriceMicroUsd, effectiveAt, reason, ctx } = command;
    const result = await this.executor.execute(
      priceCatalogDecider,
      PRICING_CATALOG_ID,
      { kind: 'SetPrice', sku, unitPriceMicroUsd, effectiveAt, reason, now: ctx.now },
      { ...ctx, tenantId: null },
    );
    return { result: result.events[0].data, written: [] };
  }
}
