import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AppError } from '../common/errors/app-error';
import { parseInstantParam } from '../events/query-params';
import { Public, RequireAction, TenantFromParam } from '../identity/auth/decorators';
import { LedgerClock } from '../events/ledger-clock';
import {
  TimelineKeyError,
  verifyTimelineText,
  type TimelinePublicKeyDocument,
  type TimelineVerdict,
} from './domain';
import { PointInTime, type TenantStateJson } from './point-in-time';
import { StateQuery, TimelineQuery, VerifyTimelineDto } from './timeline.dto';
import { TimelineExporter } from './timeline-export';
import { TimelineKeys } from './timeline-keys';

@ApiTags('timeline')
@Controller()
export class TimelineController {
  constructor(
    private readonly exporter: TimelineExporter,
    private readonly keys: TimelineKeys,
    private readonly clock: LedgerClock,
    private readonly pointInTime: PointInTime,
  ) {}

  @Get('tenants/:id/state')
  @TenantFromParam('id')
  @RequireAction('history:describe', {
    description: "Read the tenant's resources as they were at a past instant",
    resource: { type: 'tenant', param: 'id' },
  })
  @ApiOperation({
    summary: 'Every resource of the tenant as it was at as_of, replayed from its events',
  })
  async state(@Param('id') tenantId: string, @Query() query: StateQuery): Promise<TenantStateJson> {
    const asOf = parseInstantParam(query.as_of, 'as_of') ?? this.clock.now();
    return this.pointInTime.stateAt(tenantId, asOf);
  }

  @Get('tenants/:id/timeline')
  @TenantFromParam('id')
  @RequireAction('tenant:manageTimeline', {
    description: "Export the tenant's signed event timeline (owners and admins)",
    resource: { type: 'tenant', param: 'id' },
  })
  @ApiOperation({
    summary: 'Every event of the tenant, in order, hash-chained, closed by a signed manifest',
  })
  @ApiProduces('application/x-ndjson', 'text/csv')
  timeline(
    @Param('id') tenantId: string,
    @Query() query: TimelineQuery,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    const from = parseInstantParam(query.from, 'from') ?? null;
    const to = parseInstantParam(query.to, 'to') ?? null;
    if (from && to && from >= to) {
      throw AppError.validation('from must be before to', [
        { path: 'to', message: 'must be after from' },
      ]);
    }
    const format = query.format ?? 'ndjson';
    const stamp = this.clock.now().toISOString().replace(/[:.]/g, '-');
    const body = Readable.from(this.exporter.export(tenantId, { from, to }, format), {
      objectMode: false,
    });
    return reply
      .header(
        'content-type',
        format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      )
      .header(
        'content-disposition',
        `attachment; filename="timeline-${tenantId}-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}"`,
      )
      .send(body);
  }

  @Get('.well-known/nimbus-timeline-key')
  @Public()
  @ApiOperation({ summary: 'The public key that verifies timeline manifests' })
  publicKey(): TimelinePublicKeyDocument {
    return this.keys.document;
  }

  @Post('timeline/verify')
  @HttpCode(200)
  @RequireAction('audit:verifyTimeline', {
    description: 'Verify a timeline export (hash chain and manifest signature)',
  })
  @ApiOperation({ summary: 'Verifies a timeline export; names the first bad line' })
  verify(@Body() body: VerifyTimelineDto): TimelineVerdict {
    try {
      return verifyTimelineText(body.timeline, body.public_key ?? this.keys.publicKey);
    } catch (err) {
      if (err instanceof TimelineKeyError) {
        throw AppError.validation('public_key is not an Ed25519 public key', [
          { path: 'public_key', message: err.message },
        ]);
      }
      throw err;
    }
  }
}
