import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PointInTime } from './point-in-time';
import { TimelineController } from './timeline.controller';
import { TimelineExporter } from './timeline-export';
import { TimelineKeys } from './timeline-keys';

/** Tenant timeline export, its public key and verification. */
@Module({
  imports: [AuditModule],
  controllers: [TimelineController],
  providers: [TimelineKeys, TimelineExporter, PointInTime],
  exports: [TimelineKeys, TimelineExporter],
})
export class TimelineModule {}
