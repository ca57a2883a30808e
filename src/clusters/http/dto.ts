import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

import { PageQuery } from '../../common/pagination';
import { MAX_WORKERS, SUPPORTED_VERSIONS } from '../domain';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';

export class CreateClusterDto {
  @ApiProperty({
    example: 'my-cluster',
    description: '1-63 lowercase letters, digits or hyphens, starting with a letter',
  })
  @IsString()
  @MaxLength(63)
  name!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'A VPC of yours' })
  @IsUUID('all', { message: 'vpc_id must be a UUID' })
  vpc_id!: string;

  @ApiPropertyOptional({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description:
      "A subnet of the VPC where the nodes' NICs take their addresses; default: the VPC's first subnet",
  })
  @IsOptional()
  @IsUUID('all', { message: 'subnet_id must be a UUID' })
  subnet_id?: string;

  @ApiProperty({ enum: SUPPORTED_VERSIONS, example: 'v1.29.0' })
  @IsString()
  @MaxLength(32)
  version!: string;

  @ApiProperty({ minimum: 0, maximum: MAX_WORKERS, example: 3 })
  @IsInt()
  workers!: number;

  @ApiProperty({ example: true, description: 'Three control-plane nodes instead of one' })
  @IsBoolean()
  ha!: boolean;
}

export class ScaleClusterDto {
  @ApiProperty({ minimum: 0, maximum: MAX_WORKERS, example: 5 })
  @IsInt()
  workers!: number;
}

export class UpgradeClusterDto {
  @ApiProperty({
    enum: SUPPORTED_VERSIONS,
    example: 'v1.30.0',
    description: "One minor version above the cluster's at most (a patch release is fine)",
  })
  @IsString()
  @MaxLength(32)
  version!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 50, description: 'Workers out at once (default 1)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  max_unavailable?: number;

  @ApiPropertyOptional({
    minimum: 0,
    description:
      'Node failures tolerated (default 0); one more stops the rollout (`upgrade_failed`)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(50)
  max_failed_nodes?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 86400,
    description:
      'A drain still blocked (PodDisruptionBudgets) after this fails the node (default 300)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  drain_timeout_seconds?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 86400,
    description:
      'How long an upgraded node has to report Ready on the target kubelet version (default 600)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  health_timeout_seconds?: number;

  @ApiPropertyOptional({
    description:
      'Past the drain timeout, delete the pods a budget protects instead of failing (default false)',
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

export class ListClustersQuery extends PageQuery {}

export class RestoreClusterDto {
  @ApiProperty({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: 'An `available` backup of this cluster (GET /clusters/:id/backups)',
  })
  @IsUUID('all', { message: 'backup_id must be a UUID' })
  backup_id!: string;
}

export class ListClusterBackupsQuery extends PageQuery {}
