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

export class CreateReplicaDto {
  @ApiProperty({
    example: 'prod-db-replica-1',
    description: 'Lower-case letters, digits and "-", up to 63',
  })
  @IsString({ message: 'name must be a string' })
  @MaxLength(63)
  name!: string;
}

export class DatabaseReplicationResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ enum: ['PRIMARY', 'REPLICA'], example: 'REPLICA' })
  role!: string;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE })
  primary_id!: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'streaming',
    description: "The primary's walsender state for this replica; null when not connected",
  })
  replication_state!: string | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 0,
    description:
      "Bytes of WAL the replica has not replayed: pg_current_wal_lsn() - replay_lsn in the primary's pg_stat_replication, read live",
  })
  replication_lag_bytes!: number | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 0.002,
    description:
      "replay_lag of the primary's pg_stat_replication in seconds (0 when caught up and idle)",
  })
  replication_lag_seconds!: number | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'primary:pg_stat_replication' })
  measured_on!: string | null;
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

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'http://127.0.0.1:27003/metrics',
    description:
      'Prometheus metrics of the server (prometheus-postgres-exporter) while metrics_enabled is on; null otherwise',
  })
  metrics_url!: string | null;
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

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The primary a replica streams from; null for a primary',
  })
  primary_id!: string | null;

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

export class DeleteDatabaseQuery {
  @ApiPropertyOptional({
    example: 'orders-final',
    description:
      'Take a snapshot of this name before the engine goes (the database must be RUNNING); the delete stops, and the database runs on, if it cannot be taken. Lower-case letters, digits and "-", up to 63',
  })
  @IsOptional()
  @IsString({ message: 'final_snapshot_name must be a string' })
  @MaxLength(63)
  final_snapshot_name?: string;
}

export class DatabaseDeletionResponse extends DatabaseMessageResponse {
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: 'The final snapshot (GET /database-snapshots/{id}); null when none was asked for',
  })
  final_snapshot_id!: string | null;
}

export class CreateDatabaseSnapshotDto {
  @ApiProperty({
    example: 'before-migration',
    description: 'Lower-case letters, digits and "-", up to 63',
  })
  @IsString({ message: 'name must be a string' })
  @MaxLength(63)
  name!: string;
}

export class RestoreDatabaseSnapshotDto {
  @ApiProperty({
    example: 'orders-restored',
    description: 'The new database: lower-case letters, digits and "-", up to 63',
  })
  @IsString({ message: 'name must be a string' })
  @MaxLength(63)
  name!: string;

  @ApiPropertyOptional({
    example: 20,
    description: "GB; at least the snapshot source's (the default)",
  })
  @IsOptional()
  @IsInt({ message: 'allocated_storage must be an integer' })
  allocated_storage?: number;

  @ApiPropertyOptional({ example: false, description: "Default: the snapshot source's" })
  @IsOptional()
  @IsBoolean()
  pooling_enabled?: boolean;

  @ApiPropertyOptional({ example: false, description: "Default: the snapshot source's" })
  @IsOptional()
  @IsBoolean()
  metrics_enabled?: boolean;
}

export class DatabaseSnapshotResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id!: string;
  @ApiProperty({ example: 'before-migration' }) name!: string;
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) database_id!: string;
  @ApiProperty({ example: 'orders' }) database_name!: string;
  @ApiProperty({ example: 'postgres' }) engine!: string;
  @ApiProperty({ example: '15' }) version!: string;
  @ApiProperty({ enum: ['creating', 'available', 'failed'], example: 'available' })
  status!: string;
  @ApiProperty({
    example: 20,
    description: "The source's allocated storage (GB): a restore's least and default",
  })
  allocated_storage!: number;
  @ApiProperty({ example: false, description: "The source's: a restore's default" })
  pooling_enabled!: boolean;
  @ApiProperty({ example: false, description: "The source's: a restore's default" })
  metrics_enabled!: boolean;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { work_mem: '8MB' },
    description: "The source's parameters, a restore's",
  })
  parameters!: Record<string, string>;
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 48128,
    description: 'Bytes of the snapshot file (pg_dump -Fc in a tar); null until available',
  })
  size_bytes!: number | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    description: 'SHA-256 of the file, checked before a restore; null until available',
  })
  sha256!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  failure_reason!: string | null;
  @ApiProperty({
    example: false,
    description: "Taken by the database's delete (DELETE /databases/{id}?final_snapshot_name=)",
  })
  final!: boolean;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}
