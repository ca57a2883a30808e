import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

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

  @ApiPropertyOptional({ format: 'uuid', nullable: true, example: null })
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

  @ApiPropertyOptional({ format: 'uuid', nullable: true, example: null })
  instance_id!: string | null;

  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The NAT gateway that uses the address, if one does',
  })
  nat_gateway_id!: string | null;

  @ApiPropertyOptional({ format: 'uuid', nullable: true, example: null })
  vpc_id!: string | null;

  @ApiPropertyOptional({
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

export class DeletedResponse {
  @ApiProperty({ example: 'internet gateway deleted' })
  message!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}
