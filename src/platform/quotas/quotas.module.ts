import { Global, Module } from '@nestjs/common';
import { QuotaRegistry, QuotaService } from './quota.service';

/**
 * Quotas as a platform service: contexts declare theirs with `provideQuotas` and reserve through
 * `QuotaService`; operators read and override them (`/admin/quotas/:tenantId`, src/admin).
 */
@Global()
@Module({ providers: [QuotaRegistry, QuotaService], exports: [QuotaRegistry, QuotaService] })
export class QuotasModule {}
