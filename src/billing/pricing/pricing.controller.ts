import { CommandBus } from '@nestjs/cqrs';
import { Body, Controller, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { Clock } from '../../platform/clock';
import { Authenticated, OperatorOnly } from '../../identity/auth/decorators';
import { formatInstant, toEpochSeconds } from '../domain/period';
import { formatMicros, microsFromNumber, microsToNumber, parseMicros } from '../domain/money';
import { priceChangeOf, unitOfSku, type PriceChange } from '../domain/price-catalog';
import { PriceCatalogJson, PriceJson, SetPriceBody } from './pricing.dto';
import { PricingService } from './pricing.service';
import { SetPrice } from './set-price';
import { ApiOperationFor } from '../../platform/http/api-operation';

function present(change: PriceChange): PriceJson {
  return {
    sku: change.sku,
    unit: unitOfSku(change.sku) ?? 'unknown',
    unit_price: microsToNumber(change.unitPrice),
    unit_price_exact: formatMicros(change.unitPrice),
    effective_at: formatInstant(change.effectiveAt),
    reason: change.reason,
  };
}

@ApiTags('billing')
@Controller()
export class PricingController {
  constructor(
    private readonly pricing: PricingService,
    private readonly commands: CommandBus,
    private readonly clock: Clock,
  ) {}

  @Put('admin/prices/:sku')
  @HttpCode(200)
  @OperatorOnly()
  @ApiOperationFor({
    id: 'setPrice',
    summary: 'Set the price of a SKU (instance:<type>, storage:gb) from now or a later instant',
    response: PriceJson,
    errors: ['validation_error', 'not_found', 'forbidden', 'concurrency_conflict'],
  })
  async setPrice(
    @Param('sku') sku: string,
    @Body() body: SetPriceBody,
    @Ctx() ctx: CommandContext,
  ): Promise<PriceJson> {
    const micros =
      typeof body.unit_price === 'string'
        ? parseMicros(body.unit_price)
        : microsFromNumber(body.unit_price);
    const effectiveAt = body.effective_at ? new Date(body.effective_at) : null;
    const { result } = await this.commands.execute(
      new SetPrice(sku, micros, effectiveAt, body.reason ?? 'price change', ctx),
    );
    return present(priceChangeOf(result));
  }

  @Get('billing/prices')
  @Authenticated()
  @ApiOperationFor({
    id: 'getPriceCatalog',
    summary: 'The price catalog in force now, the scheduled changes and the history',
    response: PriceCatalogJson,
  })
  async prices(): Promise<PriceCatalogJson> {
    const now = toEpochSeconds(this.clock.now());
    const view = await this.pricing.catalog(now);
    return {
      as_of: formatInstant(now),
      prices: view.inForce.flatMap((p) => (p.change ? [present(p.change)] : [])),
      scheduled: view.scheduled.map(present),
      history: view.history.map(present),
    };
  }
}
