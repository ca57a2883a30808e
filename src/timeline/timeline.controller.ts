import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AppError } from '../common/errors/app-error';
import { parseInstantParam } from '../events/query-params';
import { Public, RequireAction, TenantFromParam } from '../identity/auth/decorators';
import { Clock } from '../platform/clock';
import { TimelineKeyError, verifyTimelineText } from './domain';
import { PointInTime } from './point-in-time';
import { StateQuery, TimelineQuery, VerifyTimelineDto } from './timeline.dto';
import { TimelineExporter } from './timeline-export';
import { TimelineKeys } from './timeline-keys';
import {
  TenantStateSchema,
  TimelinePublicKeySchema,
  TimelineVerdictSchema,
} from './timeline.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody } from '../platform/http/api-schema';

@ApiTags('timeline')
@Controller()
export class TimelineController {
  constructor(
    private readonly exporter: TimelineExporter,
    private readonly keys: TimelineKeys,
    private readonly clock: Clock,
    private readonly pointInTime: PointInTime,
  ) {}

  @Get('tenants/:id/state')
  @TenantFromParam('id')
  @RequireAction('history:describe', {
    description: "Read the tenant's resources as they were at a past instant",
    resource: { type: 'tenant', param: 'id' },
  })
  @ApiOperationFor({
    id: 'getTenantState',
    summary: 'Every resource of the tenant as it was at as_of, replayed from its events',
    response: TenantStateSchema,
    errors: ['validation_error', 'not_found'],
  })
  async state(
    @Param('id') tenantId: string,
    @Query() query: StateQuery,
  ): Promise<ResponseBody<typeof TenantStateSchema>> {
    const asOf = parseInstantParam(query.as_of, 'as_of') ?? this.clock.now();
    return this.pointInTime.stateAt(tenantId, asOf);
  }

  @Get('tenants/:id/timeline')
  @TenantFromParam('id')
  @RequireAction('tenant:manageTimeline', {
    description: "Export the tenant's signed event timeline (owners and admins)",
    resource: { type: 'tenant', param: 'id' },
  })
  @ApiOperationFor({
    id: 'exportTenantTimeline',
    summary: 'Every event of the tenant, in order, hash-chained, closed by a signed manifest',
    produces: ['application/x-ndjson', 'text/csv'],
    errors: ['validation_error', 'not_found'],
  })
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
  @ApiOperationFor({
    id: 'getTimelinePublicKey',
    summary: 'The public key that verifies timeline manifests',
    response: TimelinePublicKeySchema,
  })
  publicKey(): ResponseBody<typeof TimelinePublicKeySchema> {
    return this.keys.document;
  }

  @Post('timeline/verify')
  @HttpCode(200)
  @RequireAction('audit:verifyTimeline', {
    description: 'Verify a timeline export (hash chain and manifest signature)',
  })
  @ApiOperationFor({
    id: 'verifyTimeline',
    summary: 'Verifies a timeline export; names the first bad line',
    response: TimelineVerdictSchema,
    errors: ['validation_error'],
  })
  verify(@Body() body: VerifyTimelineDto): ResponseBody<typeof TimelineVerdictSchema> {
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
