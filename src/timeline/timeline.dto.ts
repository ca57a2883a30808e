import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export class TimelineQuery {
  @ApiPropertyOptional({ description: 'RFC 3339, inclusive' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  from?: string;

  @ApiPropertyOptional({ description: 'RFC 3339, exclusive' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  to?: string;

  @ApiPropertyOptional({ enum: ['ndjson', 'csv'], default: 'ndjson' })
  @IsOptional()
  @IsIn(['ndjson', 'csv'])
  format?: 'ndjson' | 'csv';
}

export class VerifyTimelineDto {
  @ApiProperty({ description: 'The NDJSON export, as downloaded' })
  @IsString()
  timeline!: string;

  @ApiPropertyOptional({
    description: "A public key (PEM or JWK JSON); default: this server's timeline key",
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  public_key?: string;
}

export class StateQuery {
  @ApiPropertyOptional({ description: 'RFC 3339 instant (default: now)' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  as_of?: string;
}
