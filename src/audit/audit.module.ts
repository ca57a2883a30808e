import { Module } from '@nestjs/common';
import { LedgerModule } from '../events/ledger.module';
import { IdentityModule } from '../identity/identity.module';
import { ActorDirectory } from './actor-directory';
import { AuditController } from './audit.controller';
import { AuditQueries } from './audit.queries';

/** GET /audit and /audit/actions over the audit read model (projections/audit). */
@Module({
  imports: [LedgerModule, IdentityModule],
  controllers: [AuditController],
  providers: [ActorDirectory, AuditQueries],
  exports: [ActorDirectory, AuditQueries],
})
export class AuditModule {}
