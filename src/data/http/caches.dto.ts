import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, MaxLength } from 'class-validator';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';

export class CreateCacheDto {
  @ApiProperty({ example: 'my-cache', description: 'Lower-case letters, digits and "-", up to 63' })
  @IsString({ message: 'name must be a string' })
  @MaxLength(63)
  name!: string;

  @ApiProperty({
    example: 256,
    minimum: 32,
    maximum: 16384,
    description: "Redis's maxmemory and the container's memory limit, in MiB",
  })
  @IsInt({ message: 'memory_mb must be an integer' })
  memory_mb!: number;
}

export class EngineEndpointResponse {
  @ApiProperty({ example: '127.0.0.1' })
  host!: string;

  @ApiProperty({ example: 27001 })
  port!: number;
}

export class CacheResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: 'my-cache' })
  name!: string;

  @ApiProperty({ enum: ['redis'], example: 'redis' })
  engine!: string;

  @ApiProperty({ example: '7' })
  engine_version!: string;

  @ApiProperty({ example: 256 })
  memory_mb!: number;

  @ApiProperty({
    enum: ['CREATING', 'RUNNING', 'FAILED', 'STOPPED', 'DELETING'],
    example: 'RUNNING',
  })
  status!: string;

  @ApiPropertyOptional({
    type: EngineEndpointResponse,
    nullable: true,
    description: 'While RUNNING',
  })
  endpoint!: EngineEndpointResponse | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  failure_reason!: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true, example: null })
  last_flushed_at!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  updated_at!: string;
}

export class CacheAcceptedResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ enum: ['CREATING'], example: 'CREATING' })
  status!: string;
}

export class CacheConnectionResponse {
  @ApiProperty({
    example: 'redis://default:s3cr3t@127.0.0.1:27001/0',
    description: 'What `redis-cli -u` accepts',
  })
  url!: string;

  @ApiProperty({ example: '127.0.0.1' })
  host!: string;

  @ApiProperty({ example: 27001 })
  port!: number;

  @ApiProperty({ example: 'default' })
  username!: string;

  @ApiProperty({ example: 's3cr3t' })
  password!: string;

  @ApiProperty({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: 'The secret holding the password',
  })
  secret_id!: string;
}

export class CacheStatsResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: '7.0.15' })
  redis_version!: string;

  @ApiProperty({ example: 120 })
  uptime_seconds!: number;

  @ApiProperty({ example: 1 })
  connected_clients!: number;

  @ApiProperty({ example: 1048576 })
  used_memory_bytes!: number;

  @ApiProperty({ example: 268435456 })
  maxmemory_bytes!: number;

  @ApiProperty({ example: 'allkeys-lru' })
  maxmemory_policy!: string;

  @ApiProperty({ example: 42 })
  keys!: number;

  @ApiProperty({ example: 10 })
  keyspace_hits!: number;

  @ApiProperty({ example: 2 })
  keyspace_misses!: number;

  @ApiProperty({ example: 0 })
  evicted_keys!: number;

  @ApiProperty({ example: 0 })
  expired_keys!: number;

  @ApiProperty({ example: 57 })
  total_commands_processed!: number;
}

export class DataMessageResponse {
  @ApiProperty({ example: 'cache deletion started' })
  message!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}
