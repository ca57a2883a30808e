import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

const UUID_EXAMPLE = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';

export class CreateSecretDto {
  @ApiProperty({
    example: 'my-api-key',
    description: 'Unique in the tenant: letters, digits, ".", "_", "-", "/", up to 128',
  })
  @IsString({ message: 'name must be a string' })
  @MinLength(1)
  @MaxLength(128)
  name!: string;

  @ApiProperty({
    example: 's3cr3t-value',
    description: 'Up to 64 KiB; stored encrypted, shown only to secrets:read',
  })
  @IsString({ message: 'value must be a string' })
  value!: string;

  @ApiPropertyOptional({ example: 'the payment provider key' })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(500)
  description?: string;
}

export class RotateSecretDto {
  @ApiProperty({ example: 'n3w-s3cr3t-value', description: 'The new value (a new version)' })
  @IsString({ message: 'value must be a string' })
  value!: string;
}

export class SecretManagerResponse {
  @ApiProperty({ enum: ['database', 'cache'], example: 'database' })
  kind!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}

export class SecretResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: 'my-api-key' })
  name!: string;

  @ApiProperty({ example: 'the payment provider key' })
  description!: string;

  @ApiProperty({ example: 1, description: 'Starts at 1, one more per rotation' })
  version!: number;

  @ApiPropertyOptional({
    type: SecretManagerResponse,
    nullable: true,
    description: 'The database or cache whose credentials it holds (changed only through it)',
  })
  managed_by!: SecretManagerResponse | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true, example: null })
  rotated_at!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T03:04:05.000Z' })
  updated_at!: string;
}

export class SecretValueResponse {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: 'my-api-key' })
  name!: string;

  @ApiProperty({ example: 1 })
  version!: number;

  @ApiProperty({ example: 's3cr3t-value' })
  value!: string;
}

export class SecretDeletedResponse {
  @ApiProperty({ example: 'secret deleted' })
  message!: string;

  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE })
  id!: string;
}
