import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

import { MAX_PART_NUMBER, MAX_EXPIRATION_DAYS } from '../domain';
import { MAX_PRESIGN_SECONDS } from '../application/presign';
import { MAX_LIST_LIMIT } from '../application/storage-queries';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';
const TENANT_EXAMPLE = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const AT = '2026-05-01T10:00:00.000Z';
const SHA256_EXAMPLE = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
const booleanText = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class CreateBucketDto {
  @ApiProperty({
    example: 'my-assets',
    description:
      'S3 rules: 3-63 lower-case letters, digits, dots and hyphens; unique across all tenants',
  })
  @IsString()
  @MaxLength(63)
  name!: string;

  @ApiPropertyOptional({ default: false, description: 'Objects readable without credentials' })
  @IsOptional()
  @IsBoolean()
  is_public?: boolean;
}

export class VersioningDto {
  @ApiProperty({ example: true, description: 'false suspends versioning (old versions stay)' })
  @IsBoolean()
  enabled!: boolean;
}

export class LifecycleRuleDto {
  @ApiProperty({ example: 'logs/', description: 'Keys starting with this (empty: every key)' })
  @IsString()
  @MaxLength(1024)
  prefix!: string;

  @ApiProperty({ example: 30, minimum: 1, maximum: MAX_EXPIRATION_DAYS })
  @IsInt()
  @Min(1)
  @Max(MAX_EXPIRATION_DAYS)
  expiration_days!: number;
}

export class DeleteBucketQuery {
  @ApiPropertyOptional({
    type: Boolean,
    description: 'Delete the objects, versions and uploads too',
  })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean()
  force?: boolean;
}

export class ListObjectsQuery {
  @ApiPropertyOptional({ example: 'logs/', description: 'Only keys starting with this' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  prefix?: string;

  @ApiPropertyOptional({
    example: '/',
    description: 'Keys holding it after the prefix are rolled up into common_prefixes',
  })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  delimiter?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_LIST_LIMIT, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LIST_LIMIT)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  cursor?: string;
}

export class VersionQuery {
  @ApiPropertyOptional({ example: '5f1c0d9e8b7a4c3d2e1f0a9b8c7d6e5f' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  version_id?: string;
}

export class CompletedPartDto {
  @ApiProperty({ example: 1, minimum: 1, maximum: MAX_PART_NUMBER })
  @IsInt()
  @Min(1)
  @Max(MAX_PART_NUMBER)
  part_number!: number;

  @ApiPropertyOptional({ example: '9e107d9d372bb6826bd81d3542a419d6' })
  @IsOptional()
  @IsString()
  @MaxLength(80)
  etag?: string;
}

export class CompleteMultipartDto {
  @ApiProperty({ type: [CompletedPartDto], description: 'In ascending part number' })
  @IsArray()
  @ArrayMaxSize(MAX_PART_NUMBER)
  @ValidateNested({ each: true })
  @Type(() => CompletedPartDto)
  parts!: CompletedPartDto[];
}

export class PresignDto {
  @ApiProperty({ enum: ['GET', 'PUT'], example: 'GET' })
  @IsIn(['GET', 'PUT'])
  method!: 'GET' | 'PUT';

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PRESIGN_SECONDS, default: 3600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PRESIGN_SECONDS)
  expires_in?: number;
}

export class PresignedQuery {
  @ApiProperty({ example: '1777630000' }) @IsString() @MaxLength(20) expires!: string;
  @ApiProperty({ example: `user:${UUID_EXAMPLE}` }) @IsString() @MaxLength(80) actor!: string;
  @ApiProperty({ example: SHA256_EXAMPLE }) @IsString() @MaxLength(64) signature!: string;
}

export class BucketResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id!: string;
  @ApiProperty({ example: 'my-assets' }) name!: string;
  @ApiProperty({ example: false }) is_public!: boolean;
  @ApiProperty({ enum: ['disabled', 'enabled', 'suspended'], example: 'disabled' })
  versioning!: string;
  @ApiProperty({ example: false }) versioning_enabled!: boolean;
  @ApiProperty({ example: `arn:nimbus:storage:local:${TENANT_EXAMPLE}:bucket/my-assets` })
  arn!: string;
  @ApiProperty({ format: 'date-time', example: AT }) created_at!: string;
  @ApiProperty({ format: 'date-time', example: AT }) updated_at!: string;
}

export class ObjectResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'The key in its bucket' })
  id!: string;
  @ApiProperty({ example: 'my-assets' }) bucket!: string;
  @ApiProperty({ example: 'docs/readme.txt' }) key!: string;
  @ApiProperty({ example: 1024 }) size_bytes!: number;
  @ApiPropertyOptional({ type: String, example: 'text/plain', nullable: true })
  content_type!: string | null;
  @ApiProperty({ example: SHA256_EXAMPLE, description: 'Hex SHA-256 of the bytes' })
  checksum!: string;
  @ApiProperty({
    example: '9e107d9d372bb6826bd81d3542a419d6',
    description: 'MD5 of the bytes, or md5-of-md5s-N for a multipart object',
  })
  etag!: string;
  @ApiProperty({ enum: ['AVAILABLE'], example: 'AVAILABLE' }) upload_status!: string;
  @ApiProperty({
    example: 'null',
    description: '"null" unless the bucket is versioned',
  })
  version_id!: string;
  @ApiProperty({ format: 'date-time', example: AT }) created_at!: string;
}

export class ObjectListResponse {
  @ApiProperty({ type: [ObjectResponse] }) items!: ObjectResponse[];
  @ApiProperty({ type: [String], example: ['logs/2026/'] }) common_prefixes!: string[];
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: null,
    description: 'Pass as cursor',
  })
  next_cursor!: string | null;
}

export class ObjectVersionResponse {
  @ApiProperty({ example: '5f1c0d9e8b7a4c3d2e1f0a9b8c7d6e5f' }) version_id!: string;
  @ApiProperty({ example: true }) is_latest!: boolean;
  @ApiProperty({ example: false }) delete_marker!: boolean;
  @ApiProperty({ example: 1024 }) size_bytes!: number;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'text/plain' })
  content_type!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: SHA256_EXAMPLE })
  checksum!: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '9e107d9d372bb6826bd81d3542a419d6',
  })
  etag!: string | null;
  @ApiProperty({ format: 'date-time', example: AT }) created_at!: string;
}

export class ObjectVersionsResponse {
  @ApiProperty({ example: 'my-assets' }) bucket!: string;
  @ApiProperty({ example: 'docs/readme.txt' }) key!: string;
  @ApiProperty({ type: [ObjectVersionResponse], description: 'Newest first' })
  versions!: ObjectVersionResponse[];
}

export class ObjectDeletedResponse {
  @ApiProperty({ example: 'object deleted' }) message!: string;
  @ApiProperty({ example: 'docs/readme.txt' }) key!: string;
  @ApiProperty({ example: 'null' }) version_id!: string;
  @ApiProperty({ example: false, description: 'A delete marker now hides the object' })
  delete_marker!: boolean;
}

export class LifecycleRuleResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id!: string;
  @ApiProperty({ example: 'logs/' }) prefix!: string;
  @ApiProperty({ example: 30 }) expiration_days!: number;
}

export class MultipartUploadResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id!: string;
  @ApiProperty({ example: 'my-assets' }) bucket!: string;
  @ApiProperty({ example: 'big.bin' }) key!: string;
  @ApiProperty({ enum: ['IN_PROGRESS'], example: 'IN_PROGRESS' }) status!: string;
  @ApiProperty({ format: 'date-time', example: AT }) created_at!: string;
}

export class PartResponse {
  @ApiProperty({ example: 1 }) part_number!: number;
  @ApiProperty({ example: '9e107d9d372bb6826bd81d3542a419d6' }) etag!: string;
  @ApiProperty({ example: 5242880 }) size_bytes!: number;
  @ApiProperty({ example: SHA256_EXAMPLE }) checksum!: string;
}

export class PresignResponse {
  @ApiProperty({
    example: `/storage/presigned/my-assets/docs/readme.txt?expires=1777630000&actor=user%3A${UUID_EXAMPLE}&signature=${SHA256_EXAMPLE}`,
    description: 'Path and query on this API, usable without credentials until expires_at',
  })
  url!: string;
  @ApiProperty({ enum: ['GET', 'PUT'], example: 'GET' }) method!: string;
  @ApiProperty({ format: 'date-time', example: AT }) expires_at!: string;
}

export class ClusterNodeResponse {
  @ApiProperty({ example: 'local' }) id!: string;
  @ApiProperty({ example: 'filesystem' }) backend!: string;
  @ApiProperty({ enum: ['healthy', 'unhealthy'], example: 'healthy' }) status!: string;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 107374182400,
    description: 'null when the blob store does not tell (S3)',
  })
  capacity_bytes!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 53687091200,
    description: 'null when the blob store does not tell (S3)',
  })
  used_bytes!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 53687091200,
    description: 'null when the blob store does not tell (S3)',
  })
  free_bytes!: number | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: null }) problem!: string | null;
}

export class ClusterStatusResponse {
  @ApiProperty({ enum: ['healthy', 'unhealthy'], example: 'healthy' }) status!: string;
  @ApiProperty({ type: [ClusterNodeResponse] }) nodes!: ClusterNodeResponse[];
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 107374182400,
    description: 'null when the blob store does not tell (S3)',
  })
  capacity_bytes!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 53687091200,
    description: 'null when the blob store does not tell (S3)',
  })
  used_bytes!: number | null;
  @ApiProperty({ example: 1048576, description: "Bytes of this tenant's object versions" })
  tenant_stored_bytes!: number;
}

export class StorageDeletedResponse {
  @ApiProperty({ example: 'bucket deleted' }) message!: string;
  @ApiProperty({ example: 'my-assets' }) id!: string;
}

export class AccessKeyResponse {
  @ApiProperty({ example: UUID_EXAMPLE }) id!: string;
  @ApiProperty({ example: 'NIMBQ2RTY7ABCDEFGHJK', description: 'The S3 access key id' })
  access_key_id!: string;
  @ApiProperty({ example: UUID_EXAMPLE, description: 'The user whose IAM permissions it has' })
  user_id!: string;
  @ApiProperty({ example: AT }) created_at!: string;
}

export class CreatedAccessKeyResponse extends AccessKeyResponse {
  @ApiProperty({
    example: 'k3mQ9vXo1TzA8yBfW2pLr5HsN7cDe4GjUa6iVb0E',
    description: 'The S3 secret access key: shown in this answer only',
  })
  secret_access_key!: string;
}
