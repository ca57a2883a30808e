import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { PageQuery } from '../common/pagination';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://example.com/nimbus-webhook' })
  @IsString()
  @MaxLength(2048)
  // A URL parser silently drops tabs and line breaks; refuse them rather than deliver elsewhere.
  @Matches(/^[^\s\p{Cc}]+$/u, {
    message: 'url must not contain spaces or control characters (such as CR or LF)',
  })
  url!: string;

  @ApiProperty({
    type: [String],
    example: ['InstanceStarted', 'Volume*'],
    description: 'Event types (GET /events/types), `*` for all, or a prefix ending with `*`',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Matches(/^(\*|[A-Z][A-Za-z0-9]*\*?)$/, {
    each: true,
    message: 'each event must be an event type, * or a prefix ending with *',
  })
  events!: string[];

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({
    description:
      'HMAC-SHA256 signing secret (16..256 characters). When absent one is generated and returned once, in this response.',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(256)
  secret?: string;
}

export class DeliveriesQuery extends PageQuery {}

export class EventsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Event type, or a prefix ending with *' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  type?: string;

  @ApiPropertyOptional({ description: 'instance/<id>, or a prefix ending with / or *' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  resource?: string;

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
}
