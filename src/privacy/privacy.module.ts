import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { IdentityModule } from '../identity/identity.module';
import { PrivacyController } from './privacy.controller';
import { PrivacyService } from './privacy.service';

/** Data-subject requests: GET /me/export, POST /me/delete. */
@Module({
  imports: [IdentityModule, AuditModule],
  controllers: [PrivacyController],
  providers: [PrivacyService],
})
export class PrivacyModule {}
