import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

import { PageQuery } from '../../common/pagination';
import { NAT_FAILURE_CODES } from '../domain';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';
const TENANT_EXAMPLE = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';

export class AttachInternetGatewayDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'The VPC to attach to' })
  @IsUUID('all', { message: 'vpc_id must be a UUID' })
  vpc_id!: string;
}

export class AssociateElasticIpDto {
  @ApiProperty({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: 'An instance with a private address in a VPC that has an internet gateway',
  })
  @IsUUID('all', { message: 'instance_id must be a UUID' })
  instance_id!: string;
}

export class InternetGatewayResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ enum: ['detached', 'attached'], example: 'detached' })
  status!: string;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, example: null })
  vpc_id!: string | null;

  @ApiProperty({ example: `arn:nimbus:vpc:local:${TENANT_EXAMPLE}:igw/${UUID_EXAMPLE}` })
  arn!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  updated_at!: string;
}

export class ElasticIpResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: '100.64.0.2', description: 'From the pool (NIMBUS_EIP_POOL)' })
  public_ip!: string;

  @ApiProperty({ enum: ['allocated', 'associated'], example: 'allocated' })
  status!: string;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, example: null })
  instance_id!: string | null;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The NAT gateway that uses the address, if one does',
  })
  nat_gateway_id!: string | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, example: null })
  vpc_id!: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: null,
    description: 'The associated private address',
  })
  private_ip!: string | null;

  @ApiProperty({ example: `arn:nimbus:vpc:local:${TENANT_EXAMPLE}:eip/${UUID_EXAMPLE}` })
  arn!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  updated_at!: string;
}

export class NetworkDeletedResponse {
  @ApiProperty({ example: 'internet gateway deleted' })
  message!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}

export class CreateNatGatewayDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'The subnet it sits in' })
  @IsUUID('all', { message: 'subnet_id must be a UUID' })
  subnet_id!: string;

  @ApiProperty({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: 'An allocated elastic IP of yours: outbound traffic leaves from it',
  })
  @IsUUID('all', { message: 'eip_id must be a UUID' })
  eip_id!: string;
}

export class ListNatGatewaysQuery extends PageQuery {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'The VPC (required)' })
  @IsUUID('all', { message: 'vpc_id is required and must be a UUID' })
  vpc_id!: string;
}

export class NatGatewayResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  vpc_id!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  subnet_id!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  elastic_ip_id!: string;

  @ApiProperty({
    enum: ['pending', 'active', 'failed', 'deleting', 'deleted'],
    example: 'pending',
    description: '`pending` until OVN has realized the snat, then `active` (or `failed`)',
  })
  status!: string;

  @ApiProperty({ example: '10.0.1.4', description: "The gateway's address in its subnet" })
  private_ip!: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: null, description: 'Once active' })
  public_ip!: string | null;

  @ApiPropertyOptional({
    type: String,
    enum: [...NAT_FAILURE_CODES, null],
    nullable: true,
    example: null,
  })
  failure_code!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  failure_message!: string | null;

  @ApiProperty({ example: `arn:nimbus:vpc:local:${TENANT_EXAMPLE}:nat-gateway/${UUID_EXAMPLE}` })
  arn!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  updated_at!: string;
}

export class RequestVpcPeeringDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE, description: 'Your VPC' })
  @IsUUID('all', { message: 'requester_vpc_id must be a UUID' })
  requester_vpc_id!: string;

  @ApiProperty({
    format: 'uuid',
    example: UUID_EXAMPLE,
    description: "Yours or another tenant's VPC; its owner accepts the request",
  })
  @IsUUID('all', { message: 'accepter_vpc_id must be a UUID' })
  accepter_vpc_id!: string;
}

export class VpcPeeringResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({
    enum: [
      'pending-acceptance',
      'provisioning',
      'active',
      'failed',
      'rejected',
      'expired',
      'deleting',
      'deleted',
    ],
    example: 'pending-acceptance',
  })
  status!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  requester_vpc_id!: string;

  @ApiProperty({ format: 'uuid', example: TENANT_EXAMPLE })
  requester_tenant_id!: string;

  @ApiProperty({ example: '10.1.0.0/16' })
  requester_cidr_block!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  accepter_vpc_id!: string;

  @ApiProperty({ format: 'uuid', example: TENANT_EXAMPLE })
  accepter_tenant_id!: string;

  @ApiProperty({ example: '10.2.0.0/16' })
  accepter_cidr_block!: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-05-08T10:00:00.000Z',
    description: 'While pending: when the request expires',
  })
  expires_at!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  failure_code!: string | null;

  @ApiProperty({
    example: `arn:nimbus:vpc:local:${TENANT_EXAMPLE}:vpc-peering/${UUID_EXAMPLE}`,
  })
  arn!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-05-01T10:00:00.000Z' })
  updated_at!: string;
}
