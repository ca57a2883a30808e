import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BillingModule } from '../billing/billing.module';
import { TimelineModule } from '../timeline/timeline.module';
import { GenerateReportHandler } from './generate-report';
import { ReportBuilders } from './report-builders';
import { ReportsController } from './reports.controller';
import { ReportsService } from './reports.service';

/** POST /reports/generate, GET /reports, /reports/:id, /reports/:id/download. */
@Module({
  imports: [BillingModule, AuditModule, TimelineModule],
  controllers: [ReportsController],
  providers: [ReportBuilders, ReportsService, GenerateReportHandler],
  exports: [ReportsService],
})
export class ReportsModule {}
