import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { DEFAULT_VPC_CIDR, NAME_MAX_LENGTH } from '../domain';

// ------------------------------------------------------------------ VPCs

export class CreateVpcDto {
  @ApiProperty({ example: 'prod-vpc', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({
    example: '10.0.0.0/16',
    default: DEFAULT_VPC_CIDR,
    nullable: true,
    description:
      'A private (RFC 1918) IPv4 block written as its network address, prefix /16 to /28.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(18)
  cidr_block?: string | null;
}

export class VpcResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'prod-vpc' }) name!: string;
  @ApiProperty({ example: '10.0.0.0/16' }) cidr_block!: string;
  @ApiProperty({ enum: ['available'] }) status!: string;
  @ApiProperty({
    description: "The tenant's default VPC (created by the first launch without a VPC).",
  })
  is_default!: boolean;
  @ApiProperty({ format: 'uuid' }) main_route_table_id!: string;
  @ApiProperty({ format: 'uuid' }) default_security_group_id!: string;
  @ApiProperty({ example: 'arn:nimbus:vpc:local:7d9e…:vpc/3f1c…' }) arn!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

// ------------------------------------------------------------------ subnets

export class CreateSubnetDto {
  @ApiProperty({ example: 'private-subnet-1', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX_LENGTH)
  name!: string;

  @ApiProperty({
    example: '10.0.1.0/24',
    description:
      "Inside the VPC's block, prefix /16 to /28 (else 400), overlapping no other subnet of the VPC (else 409).",
  })
  @IsString()
  @MaxLength(18)
  cidr_block!: string;

  @ApiProperty({ example: 'local-1a', description: 'Lower-case letters, digits and "-".' })
  @IsString()
  @MaxLength(64)
  availability_zone!: string;
}

export class SubnetResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) vpc_id!: string;
  @ApiProperty({ example: 'private-subnet-1' }) name!: string;
  @ApiProperty({ example: '10.0.1.0/24' }) cidr_block!: string;
  @ApiProperty({ example: 'local-1a' }) availability_zone!: string;
  @ApiProperty({ example: '10.0.1.1', description: "The VPC router's address on the subnet." })
  gateway_ip!: string;
  @ApiProperty({
    example: 251,
    description: 'Addresses left for instances (the first four and the last are reserved).',
  })
  available_ip_address_count!: number;
  @ApiProperty({ enum: ['available'] }) status!: string;
  @ApiProperty({ example: 'arn:nimbus:vpc:local:7d9e…:subnet/5a2b…' }) arn!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

/** `?vpc_id=` of the lists that require it. */
export class VpcScopedPageQuery extends PageQuery {
  @ApiProperty({ format: 'uuid', description: 'The VPC whose resources to list (required).' })
  @IsUUID('all', { message: 'vpc_id must be a UUID' })
  vpc_id!: string;
}
