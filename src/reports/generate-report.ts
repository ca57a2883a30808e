import { CommandHandler } from '@nestjs/cqrs';
import { REPORTS_PROJECTION } from '../../projections/reports';
import { CommandExecutor } from '../eventstore/command-executor';
import type { CommandContext } from '../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../platform/commands/use-case';
import { reportDecider, type ReportFormat, type ReportType } from './domain/report';

/**
 * POST /reports/generate: records the request (ReportRequested, audited); the reports projection
 * queues it and a worker builds the file. The report's id is the command id, so a retried request
 * (same Idempotency-Key) names the same report.
 */
export class GenerateReport extends UseCaseCommand<string> {
  constructor(
    readonly reportType: ReportType,
    readonly format: ReportFormat,
    readonly period: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(GenerateReport)
export class GenerateReportHandler extends UseCaseHandler<GenerateReport, string> {
  constructor(private readonly executor: CommandExecutor) {
    super();
  }

  protected async handle({
    reportType,
    format,
    period,
    ctx,
  }: GenerateReport): Promise<Handled<string>> {
    const reportId = ctx.commandId;
    const result = await this.executor.execute(
      reportDecider,
      reportId,
      {
        type: 'RequestReport',
        reportId,
        tenantId: tenantOf(ctx),
        reportType,
        format,
        period,
        now: ctx.now,
      },
      ctx,
    );
    return { result: reportId, written: [written(result.position, REPORTS_PROJECTION)] };
  }
}
