import { Module } from '@nestjs/common';
import { BillingController } from './billing.controller';
import { BillingQueries } from './billing.queries';
import { BILLING_READS } from './ports/billing-reads';
import { PricingController } from './pricing/pricing.controller';
import { PricingService } from './pricing/pricing.service';
import { SetPriceHandler } from './pricing/set-price';

/**
 * GET /billing/summary and /billing/usage over the billing read model (projections/billing); the
 * price catalog (PUT /admin/prices/:sku, GET /billing/prices), written at start-up.
 */
@Module({
  controllers: [BillingController, PricingController],
  providers: [
    BillingQueries,
    PricingService,
    SetPriceHandler,
    { provide: BILLING_READS, useExisting: BillingQueries },
  ],
  exports: [BillingQueries, PricingService, BILLING_READS],
})
export class BillingModule {}
