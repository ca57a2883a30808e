import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { ActorDirectory } from './actor-directory';
import { AuditController } from './audit.controller';
import { AuditQueries } from './audit.queries';
import { AUDIT_READS } from './ports/audit-reads';

/** GET /audit and /audit/actions over the audit read model (projections/audit). */
@Module({
  imports: [IdentityModule],
  controllers: [AuditController],
  providers: [ActorDirectory, AuditQueries, { provide: AUDIT_READS, useExisting: AuditQueries }],
  exports: [ActorDirectory, AuditQueries, AUDIT_READS],
})
export class AuditModule {}
