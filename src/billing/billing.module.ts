import { Module } from '@nestjs/common';
import { LedgerModule } from '../events/ledger.module';
import { BillingController } from './billing.controller';
import { BillingQueries } from './billing.queries';

/** GET /billing/summary and /billing/usage over the billing read model (projections/billing). */
@Module({
  imports: [LedgerModule],
  controllers: [BillingController],
  providers: [BillingQueries],
  exports: [BillingQueries],
})
export class BillingModule {}
