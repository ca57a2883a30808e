import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import {
  DEFAULT_RULE_PRIORITY,
  DEFAULT_VPC_CIDR,
  NAME_MAX_LENGTH,
  RULE_DIRECTIONS,
  RULE_PROTOCOLS,
} from '../domain';

// ------------------------------------------------------------------ VPCs

export class CreateVpcDto {
  @ApiProperty({ example: 'prod-vpc', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({
    type: String,
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

// ------------------------------------------------------------------ security groups

export class CreateSecurityGroupDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'vpc_id must be a UUID' })
  vpc_id!: string;

  @ApiProperty({ example: 'web-tier', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'Port 80 and 443 allowed',
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string | null;
}

export class AddSecurityGroupRuleDto {
  @ApiProperty({ enum: RULE_DIRECTIONS, example: 'ingress' })
  @IsIn(RULE_DIRECTIONS)
  direction!: string;

  @ApiProperty({ enum: RULE_PROTOCOLS, example: 'tcp' })
  @IsIn(RULE_PROTOCOLS)
  protocol!: string;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 80,
    minimum: 1,
    maximum: 65535,
    description: 'tcp and udp only (required there); absent for icmp and all.',
  })
  @IsOptional()
  @IsInt()
  port_min?: number | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 80,
    minimum: 1,
    maximum: 65535,
    description: 'Default port_min.',
  })
  @IsOptional()
  @IsInt()
  port_max?: number | null;

  @ApiProperty({
    example: '0.0.0.0/0',
    description: 'Where ingress comes from (egress goes to), as a network address block.',
  })
  @IsString()
  @MaxLength(18)
  cidr!: string;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 100,
    minimum: 1,
    maximum: 32767,
    default: DEFAULT_RULE_PRIORITY,
  })
  @IsOptional()
  @IsInt()
  priority?: number | null;
}

export class SecurityGroupMembershipDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'instance_id must be a UUID' })
  instance_id!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'group_id must be a UUID' })
  group_id!: string;
}

export class SecurityGroupRuleResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: RULE_DIRECTIONS }) direction!: string;
  @ApiProperty({ enum: RULE_PROTOCOLS }) protocol!: string;
  @ApiProperty({ type: Number, nullable: true, example: 80 }) port_min!: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 80 }) port_max!: number | null;
  @ApiProperty({ type: String, nullable: true, example: '0.0.0.0/0' }) cidr!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: "The group whose members' traffic the rule admits (the default group's own rule).",
  })
  source_group_id!: string | null;
  @ApiProperty({ example: 100 }) priority!: number;
}

export class SecurityGroupResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) vpc_id!: string;
  @ApiProperty({ example: 'web-tier' }) name!: string;
  @ApiProperty({ example: 'Port 80 and 443 allowed' }) description!: string;
  @ApiProperty({
    description: "The VPC's default group, which instances join unless told otherwise.",
  })
  is_default!: boolean;
  @ApiProperty({ enum: ['available'] }) status!: string;
  @ApiProperty({ type: [SecurityGroupRuleResponse] }) rules!: SecurityGroupRuleResponse[];
  @ApiProperty({ type: [String], description: 'Instances that are members.' })
  instance_ids!: string[];
  @ApiProperty({ example: 'arn:nimbus:vpc:local:7d9e…:security-group/5a2b…' }) arn!: string;
}

// ------------------------------------------------------------------ route tables

export class CreateRouteTableDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'vpc_id must be a UUID' })
  vpc_id!: string;

  @ApiProperty({ example: 'custom-rt', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    default: false,
    description: 'Every VPC has its main table already: true is 409.',
  })
  @IsOptional()
  @IsBoolean()
  is_main?: boolean | null;
}

export class AddRouteDto {
  @ApiProperty({ example: '0.0.0.0/0' })
  @IsString()
  @MaxLength(18)
  destination_cidr!: string;

  @ApiProperty({
    enum: ['igw', 'nat', 'peering'],
    description: 'local exists already (the VPC block); igw, nat or peering of this VPC.',
  })
  @IsIn(['local', 'igw', 'nat', 'peering'])
  target_type!: string;

  @ApiProperty({ format: 'uuid', description: 'The internet gateway, NAT gateway or peering.' })
  @IsUUID('all', { message: 'target_id must be a UUID' })
  target_id!: string;
}

export class RouteQuery {
  @ApiProperty({
    format: 'uuid',
    description:
      "The route to remove (required: 400 without, once the table is known to be the caller's).",
  })
  @IsOptional()
  @IsUUID('all', { message: 'route_id must be a UUID' })
  route_id?: string;
}

export class SubnetAssociationDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'subnet_id must be a UUID' })
  subnet_id!: string;
}

export class RouteResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: '0.0.0.0/0' }) destination_cidr!: string;
  @ApiProperty({ enum: ['local', 'igw', 'nat', 'peering'] }) target_type!: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) target_id!: string | null;
}

export class RouteTableResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) vpc_id!: string;
  @ApiProperty({ example: 'custom-rt' }) name!: string;
  @ApiProperty() is_main!: boolean;
  @ApiProperty({ enum: ['available'] }) status!: string;
  @ApiProperty({ type: [RouteResponse] }) routes!: RouteResponse[];
  @ApiProperty({
    type: [String],
    description: 'Subnets explicitly associated (the others of the VPC use its main table).',
  })
  subnet_ids!: string[];
  @ApiProperty({ example: 'arn:nimbus:vpc:local:7d9e…:route-table/5a2b…' }) arn!: string;
}
