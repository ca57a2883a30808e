import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import {
  IMAGE_NAME_MAX_LENGTH,
  IMPORT_URL_MAX_LENGTH,
  INSTANCE_STATUSES,
  type InstanceStatus,
  MAX_VOLUME_MOUNTS,
  MAX_VOLUME_SIZE_GB,
  MIN_VOLUME_SIZE_GB,
  MOUNT_PATH_MAX_LENGTH,
  RESOURCE_NAME_MAX_LENGTH,
  USER_DATA_MAX_BYTES,
} from '../domain';

const NAME_RE = /^[A-Za-z0-9_-]+$/;
const NAME_MESSAGE = 'name must be 1 to 64 ASCII letters, digits, "-" or "_"';

export class VolumeMountDto {
  @ApiProperty({ format: 'uuid' })
  @IsString()
  @IsNotEmpty()
  volume_id!: string;

  @ApiProperty({ example: '/data' })
  @IsString()
  @MaxLength(MOUNT_PATH_MAX_LENGTH)
  mount_path!: string;
}

export class LaunchInstanceDto {
  @ApiProperty({ example: 'web-01', maxLength: RESOURCE_NAME_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(RESOURCE_NAME_MAX_LENGTH)
  @Matches(NAME_RE, { message: NAME_MESSAGE })
  name!: string;

  @ApiProperty({
    description:
      "Image id, or the name of an ACTIVE image you can see. A name resolves in this order: the system image of that name (system names are reserved: no tenant can register one); else your own image (the newest when several); else the one public image of another tenant with that name. When several other tenants' public images have the name, the answer is 409 `ambiguous_image` with their ids in `details.candidates`: launch by id.",
    example: 'busybox',
  })
  @IsString()
  @IsNotEmpty()
  image!: string;

  @ApiProperty({ example: 'basic-2' })
  @IsString()
  @IsNotEmpty()
  instance_type!: string;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  vpc_id?: string | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  subnet_id?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '80:80,443:443',
    description:
      'TCP ports to publish, as host:container pairs (at most 10). Each host port listens on 127.0.0.1 of the Nimbus host while the instance lives and leads to the container port on the instance. A host port held by another live instance, or by another program on the host, is 409 conflict.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  ports?: string | null;

  @ApiPropertyOptional({ type: [VolumeMountDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_VOLUME_MOUNTS)
  @ValidateNested({ each: true })
  @Type(() => VolumeMountDto)
  volumes?: VolumeMountDto[];

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'A shell script run at first boot',
  })
  @IsOptional()
  @IsString()
  @MaxLength(USER_DATA_MAX_BYTES)
  user_data?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  tags?: Record<string, string>;
}

export class UpdateInstanceDto {
  @ApiPropertyOptional({ example: 'web-02' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(RESOURCE_NAME_MAX_LENGTH)
  @Matches(NAME_RE, { message: NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  tags?: Record<string, string>;
}

export class ResizeInstanceDto {
  @ApiProperty({ example: 'basic-4' })
  @IsString()
  @IsNotEmpty({ message: 'instance_type must not be empty' })
  instance_type!: string;
}

export class ListInstancesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: INSTANCE_STATUSES, description: 'Exact (upper-case) status' })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES, {
    message: `status must be one of ${INSTANCE_STATUSES.join(', ')} (upper-case)`,
  })
  status?: InstanceStatus;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    description: 'Only the nodes of this Kubernetes cluster (instances it manages)',
  })
  @IsOptional()
  @IsUUID(undefined, { message: 'cluster_id must be a UUID' })
  cluster_id?: string;
}

export class RegisterImageDto {
  @ApiProperty({ example: 'my-custom-image' })
  @IsString()
  @MinLength(1)
  @MaxLength(IMAGE_NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'linux' })
  @IsOptional()
  @IsString()
  os?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: '1.0' })
  @IsOptional()
  @IsString()
  version?: string | null;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  is_public?: boolean;
}

export class ImportImageDto extends RegisterImageDto {
  @ApiProperty({ example: 'https://images.example/rootfs.tar.gz' })
  @IsString()
  @MaxLength(IMPORT_URL_MAX_LENGTH)
  url!: string;
}

export class CreateVolumeDto {
  @ApiProperty({ example: 'data-vol' })
  @IsString()
  @MinLength(1)
  @MaxLength(RESOURCE_NAME_MAX_LENGTH)
  @Matches(NAME_RE, { message: NAME_MESSAGE })
  name!: string;

  @ApiProperty({ example: 10, minimum: MIN_VOLUME_SIZE_GB, maximum: MAX_VOLUME_SIZE_GB })
  @IsInt()
  @Min(MIN_VOLUME_SIZE_GB)
  @Max(MAX_VOLUME_SIZE_GB)
  size_gb!: number;
}

export class AttachVolumeDto {
  @ApiProperty({ format: 'uuid' })
  @IsString()
  @IsNotEmpty()
  instance_id!: string;

  @ApiProperty({ example: '/data' })
  @IsString()
  @MaxLength(MOUNT_PATH_MAX_LENGTH)
  mount_path!: string;
}

export class LogsQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  resource_id?: string;

  @ApiPropertyOptional({ enum: ['instance', 'image', 'volume', 'function'] })
  @IsOptional()
  @IsIn(['instance', 'image', 'volume', 'function'])
  resource_type?: string;

  @ApiPropertyOptional({ enum: ['INFO', 'WARN', 'ERROR'] })
  @IsOptional()
  @IsIn(['INFO', 'WARN', 'ERROR'])
  level?: string;

  @ApiPropertyOptional({ description: 'Words that must all appear in the message' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601()
  start_time?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601()
  end_time?: string;

  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}

export class ResourceLogsQuery {
  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
