import { Controller, Get, Res } from '@nestjs/common';
import { ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ReadinessService, type ReadinessReport } from './readiness';
import { Public } from '../common/public-route';
import { ApiOperationFor } from '../platform/http/api-operation';

const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'checks', 'time'],
  properties: {
    status: { type: 'string', enum: ['UP', 'DEGRADED'] },
    checks: {
      type: 'object',
      additionalProperties: { type: 'string' },
      example: {
        database: 'CONNECTED',
        eventstore: 'CONNECTED',
        docker: 'SIMULATED',
        ovs: 'SIMULATED',
        ovn: 'SIMULATED',
      },
    },
    details: { type: 'object', additionalProperties: { type: 'string' } },
    time: { type: 'string', format: 'date-time' },
  },
};

@ApiTags('platform')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get()
  @ApiOperationFor({
    id: 'getHealth',
    summary: 'Liveness: the process answers HTTP',
    schema: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['ok'] } },
      additionalProperties: false,
    },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperationFor({
    id: 'getReadiness',
    summary: 'Readiness: database, event store and drivers',
    description:
      'UP when every check is ok (a simulated driver counts as ok); otherwise DEGRADED with 503.',
    schema: READINESS_SCHEMA,
  })
  @ApiServiceUnavailableResponse({ schema: READINESS_SCHEMA })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    if (report.status !== 'UP') void reply.status(503);
    return report;
  }
}
