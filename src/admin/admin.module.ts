import { Module } from '@nestjs/common';
import { AdminProjectionsController } from './admin-projections.controller';
import { AdminQuotasController } from './admin-quotas.controller';
import { OverrideTenantQuotasHandler } from './application/override-tenant-quotas';

/**
 * Operator routes. ProjectionRuntime comes from the global ProjectionsModule, QuotaService from
 * the global QuotasModule.
 */
@Module({
  controllers: [AdminProjectionsController, AdminQuotasController],
  providers: [OverrideTenantQuotasHandler],
})
export class AdminModule {}
