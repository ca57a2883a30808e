import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { tenantCallerOf } from '../events/caller';
import { LedgerClock } from '../events/ledger-clock';
import { RequireAction } from '../identity/auth/decorators';
import { REPORT_FORMATS, REPORT_TYPES, type ReportFormat, type ReportType } from './report';
import { ReportsService, type ReportJson } from './reports.service';

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

export class ListReportsQuery {
  @ApiPropertyOptional({ enum: REPORT_FORMATS })
  @IsOptional()
  @IsIn(REPORT_FORMATS)
  format?: ReportFormat;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

@ApiTags('reports')
@Controller('reports')
export class ReportsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly clock: LedgerClock,
  ) {}

  @Post('generate')
  @HttpCode(202)
  @RequireAction('reports:generate', {
    description: 'Generate a billing, audit or timeline report',
  })
  @ApiOperation({ summary: 'Generate a report in the background; 202 with its id' })
  generate(
    @Req() request: FastifyRequest,
    @Body() body: GenerateReportDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReportJson> {
    const { tenantId } = tenantCallerOf(request);
    const period = body.period ?? this.clock.now().toISOString().slice(0, 7);
    void reply.header('Location', `/reports/${ctx.commandId}`);
    return this.reports.request(tenantId, body.type, body.format, period, ctx);
  }

  @Get()
  @RequireAction('reports:list', { description: "List the tenant's reports" })
  list(@Req() request: FastifyRequest, @Query() query: ListReportsQuery): Promise<ReportJson[]> {
    return this.reports.list(tenantCallerOf(request).tenantId, query.format, query.limit ?? 50);
  }

  @Get(':id')
  @RequireAction('reports:get', { description: 'Read a report and its status' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<ReportJson> {
    return this.reports.get(tenantCallerOf(request).tenantId, id);
  }

  @Get(':id/download')
  @RequireAction('reports:read', { description: 'Download a generated report' })
  @ApiOperation({ summary: 'The report file, with its Content-Type and Content-Disposition' })
  async download(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const file = await this.reports.file(tenantCallerOf(request).tenantId, id);
    return reply
      .header('content-type', file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .send(file.content);
  }
}
