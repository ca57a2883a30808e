import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

import { ALLOWED_PARAMETERS } from '../domain';
import { EngineEndpointResponse } from './caches.dto';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';
const PARAMETERS_DOC = `PostgreSQL parameters from the allow-list: ${ALLOWED_PARAMETERS.join(', ')}`;

export class CreateDatabaseDto {
  @ApiProperty({ example: 'prod-db', description: 'Lower-case letters, digits and "-", up to 63' })
  @IsString({ message: 'name must be a string' })
  @MaxLength(63)
  name!: string;

  @ApiProperty({ enum: ['postgres'], example: 'postgres' })
  @IsString({ message: 'engine must be a string' })
  engine!: string;

  @ApiProperty({
    enum: ['15'],
    example: '15',
    description: 'Major version (GET /databases lists what runs)',
  })
  @IsString({ message: 'version must be a string' })
  version!: string;

  @ApiProperty({ example: 20, minimum: 1, maximum: 1024, description: 'GB; only grows' })
  @IsInt({ message: 'allocated_storage must be an integer' })
  allocated_storage!: number;

  @ApiPropertyOptional({ example: true, description: 'pgbouncer in front of the server' })
  @IsOptional()
  @IsBoolean()
  pooling_enabled?: boolean;

  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @IsBoolean()
  metrics_enabled?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { max_connections: '100' },
    description: PARAMETERS_DOC,
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, string>;
}

export class ModifyDatabaseDto {
  @ApiPropertyOptional({ example: 40, description: 'GB; smaller than now: 400 validation_error' })
  @IsOptional()
  @IsInt({ message: 'allocated_storage must be an integer' })
  allocated_storage?: number;

  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @IsBoolean()
  pooling_enabled?: boolean;

  @ApiPropertyOptional({ example: true })
  @IsOptional()
  @IsBoolean()
  metrics_enabled?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { max_connections: '200' },
    description: `${PARAMETERS_DOC}; applied with a reload, or a restart when one needs it`,
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, string>;
}

export class DatabaseEndpointResponse extends EngineEndpointResponse {
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 27002,
    description: "pgbouncer's port while pooling is on",
  })
  pooler_port!: number | null;
}

export class DatabaseResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: 'prod-db' })
  name!: string;

  @ApiProperty({ example: 'postgres' })
  engine!: string;

  @ApiProperty({ example: '15' })
  version!: string;

  @ApiProperty({ enum: ['PRIMARY', 'REPLICA'], example: 'PRIMARY' })
  role!: string;

  @ApiProperty({
    enum: ['CREATING', 'RUNNING', 'STOPPED', 'DELETING', 'FAILED'],
    example: 'RUNNING',
  })
  status!: string;

  @ApiProperty({ example: 20 })
  allocated_storage!: number;

  @ApiProperty({ example: true })
  pooling_enabled!: boolean;

  @ApiProperty({ example: false })
  metrics_enabled!: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { max_connections: '100' },
  })
  parameters!: Record<string, string>;

  @ApiPropertyOptional({ type: DatabaseEndpointResponse, nullable: true })
  endpoint!: DatabaseEndpointResponse | null;

  @ApiProperty({ example: 1, description: 'One more per rotate-credentials' })
  credentials_version!: number;

  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  failure_reason!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  updated_at!: string;
}

export class DatabaseConnectionResponse {
  @ApiProperty({
    example: 'postgresql://nimbus:s3cr3t@127.0.0.1:27002/prod_db?sslmode=disable',
    description: 'What psql accepts; through pgbouncer when pooling is on',
  })
  connection_string!: string;

  @ApiProperty({ example: '127.0.0.1' })
  host!: string;

  @ApiProperty({ example: 27002 })
  port!: number;

  @ApiProperty({ example: 'prod_db' })
  database!: string;

  @ApiProperty({ example: 'nimbus' })
  username!: string;

  @ApiProperty({ example: 's3cr3t' })
  password!: string;

  @ApiProperty({ example: true })
  pooled!: boolean;

  @ApiProperty({ example: 27001, description: "The server's own port" })
  direct_port!: number;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  secret_id!: string;
}

export class DatabaseMessageResponse {
  @ApiProperty({ example: 'database stopped' })
  message!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}
