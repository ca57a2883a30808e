import { CommandBus } from '@nestjs/cqrs';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { isUuid } from '../common/ids';
import { PageQuery, paginate, parsePage } from '../common/pagination';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { CallerTenant } from '../platform/http/caller';
import { Clock } from '../platform/clock';
import { RequireAction } from '../identity/auth/decorators';
import { REPORT_FORMATS, REPORT_TYPES, type ReportFormat, type ReportType } from './domain/report';
import { GenerateReport } from './generate-report';
import { ReportsService } from './reports.service';
import { ReportSchema } from './reports.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../platform/http/api-schema';

export class GenerateReportDto {
  @ApiProperty({ enum: REPORT_TYPES })
  @IsIn(REPORT_TYPES)
  type!: ReportType;

  @ApiProperty({ enum: REPORT_FORMATS })
  @IsIn(REPORT_FORMATS)
  format!: ReportFormat;

  @ApiPropertyOptional({ description: 'YYYY-MM (default: the current month)' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'period must be a month as YYYY-MM' })
  period?: string;
}

export class ListReportsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: REPORT_FORMATS })
  @IsOptional()
  @IsIn(REPORT_FORMATS, { message: `format must be one of ${REPORT_FORMATS.join(', ')}` })
  format?: ReportFormat;
}

/** Newest first: [created_at, id]. */
type ReportKey = [string, string];

function isReportKey(value: unknown): value is ReportKey {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    Number.isFinite(Date.parse(value[0])) &&
    typeof value[1] === 'string' &&
    isUuid(value[1])
  );
}

@ApiTags('reports')
@Controller('reports')
export class ReportsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly commands: CommandBus,
    private readonly clock: Clock,
  ) {}

  @Post('generate')
  @HttpCode(202)
  @RequireAction('reports:generate', {
    description: 'Generate a billing, audit or timeline report',
  })
  @ApiOperationFor({
    id: 'generateReport',
    summary: 'Generate a report in the background; 202 with its id',
    status: 202,
    response: ReportSchema,
    errors: ['validation_error'],
  })
  async generate(
    @CallerTenant() tenantId: string,
    @Body() body: GenerateReportDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ReportSchema>> {
    const period = body.period ?? this.clock.now().toISOString().slice(0, 7);
    const { result: id, caughtUp } = await this.commands.execute(
      new GenerateReport(body.type, body.format, period, ctx),
    );
    void reply.header('Location', `/reports/${id}`);
    this.reports.kick();
    if (caughtUp) return this.reports.get(tenantId, id);
    return {
      ...{ id, type: body.type, format: body.format, period, status: 'pending' as const },
      ...{ filename: null, content_type: null, size_bytes: null, error: null },
      ...{ created_at: ctx.now.toISOString(), completed_at: null, download_url: null },
    };
  }

  @Get()
  @RequireAction('reports:list', { description: "List the tenant's reports" })
  @ApiOperationFor({
    id: 'listReports',
    summary: "The tenant's reports, newest first (cursor envelope)",
    response: ReportSchema,
    page: true,
    errors: ['validation_error'],
  })
  async list(
    @CallerTenant() tenantId: string,
    @Query() query: ListReportsQuery,
  ): Promise<ResponsePage<typeof ReportSchema>> {
    const page = parsePage<ReportKey>(query);
    if (page.after !== null && !isReportKey(page.after)) {
      throw AppError.validation('cursor is not valid', [
        { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
      ]);
    }
    const rows = await this.reports.list(tenantId, query.format, page.after, page.limit + 1);
    return paginate(rows, page, (r): ReportKey => [r.created_at, r.id]);
  }

  @Get(':id')
  @RequireAction('reports:get', { description: 'Read a report and its status' })
  @ApiOperationFor({
    id: 'getReport',
    summary: 'Describe a report (status, download_url once ready)',
    response: ReportSchema,
    errors: ['not_found'],
  })
  get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
  ): Promise<ResponseBody<typeof ReportSchema>> {
    return this.reports.get(tenantId, id);
  }

  @Get(':id/download')
  @RequireAction('reports:read', { description: 'Download a generated report' })
  @ApiOperationFor({
    id: 'downloadReport',
    summary: 'The report file, with its Content-Type and Content-Disposition',
    produces: ['application/json', 'text/csv', 'application/pdf'],
    errors: ['not_found', 'invalid_state'],
  })
  async download(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const file = await this.reports.file(tenantId, id);
    return reply
      .header('content-type', file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .send(file.content);
  }
}
