import { Controller, Get, Inject } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import {
  ProjectionRuntime,
  type ProjectionStatus,
  type ProjectionStatusName,
} from '../../projections/runtime/projection-runtime';
import { OperatorOnly } from '../identity/auth/decorators';
import { ApiOperationFor } from '../platform/http/api-operation';

const STATUSES: ProjectionStatusName[] = [
  'idle',
  'waiting_for_lock',
  'running',
  'error',
  'stopped',
  'running_elsewhere',
];

export class ProjectionLagDto {
  @ApiProperty({ description: 'Events in the log after the checkpoint, up to the head.' })
  events!: number;

  @ApiProperty({ description: 'False when counting stopped early: the lag is at least `events`.' })
  exact!: boolean;
}

export class ProjectionStatusDto {
  @ApiProperty({ example: 'identity.users' })
  name!: string;

  @ApiProperty({ description: 'Version of the definition this process runs.' })
  version!: number;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: 'Version of the stored read model.',
  })
  stored_version!: number | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Opaque checkpoint; null at the start.',
  })
  position!: string | null;

  @ApiProperty()
  events_processed!: number;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Opaque position of the newest event.',
  })
  head!: string | null;

  @ApiProperty({ type: ProjectionLagDto })
  lag!: ProjectionLagDto;

  @ApiProperty({ enum: STATUSES })
  status!: ProjectionStatusName;

  @ApiPropertyOptional({ type: String, nullable: true })
  last_error!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time' })
  last_error_at!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time' })
  updated_at!: string | null;
}

export function toStatusDto(s: ProjectionStatus): ProjectionStatusDto {
  return {
    name: s.name,
    version: s.version,
    stored_version: s.storedVersion,
    position: s.position,
    events_processed: s.eventsProcessed,
    head: s.head,
    lag: { events: s.lag.events, exact: s.lag.exact },
    status: s.status,
    last_error: s.lastError,
    last_error_at: s.lastErrorAt,
    updated_at: s.updatedAt,
  };
}

/**
 * ADMIN ROUTE: operators only. The identity context puts its admin guard on this controller.
 */
@ApiTags('admin')
@OperatorOnly()
@Controller('admin/projections')
export class AdminProjectionsController {
  constructor(@Inject(ProjectionRuntime) private readonly runtime: ProjectionRuntime) {}

  @Get()
  @ApiOperationFor({
    id: 'listProjections',
    summary: 'Projections: position, lag behind the head of the log, and runner status',
    response: ProjectionStatusDto,
    isArray: true,
  })
  async list(): Promise<ProjectionStatusDto[]> {
    return (await this.runtime.status()).map(toStatusDto);
  }
}
