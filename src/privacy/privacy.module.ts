import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { LedgerModule } from '../events/ledger.module';
import { IdentityModule } from '../identity/identity.module';
import { PrivacyController } from './privacy.controller';
import { PrivacyService } from './privacy.service';

/** Data-subject requests: GET /me/export, POST /me/delete. */
@Module({
  imports: [LedgerModule, IdentityModule, AuditModule],
  controllers: [PrivacyController],
  providers: [PrivacyService],
})
export class PrivacyModule {}
