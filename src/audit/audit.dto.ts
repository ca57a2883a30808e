import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../common/pagination';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ description: "The actor's email, API key name, or id" })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  actor?: string;

  @ApiPropertyOptional({ description: 'An action of GET /audit/actions' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ description: 'instance/<id>, or a prefix ending with / or *' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  resource?: string;

  @ApiPropertyOptional({ enum: ['success', 'failure', 'denied'] })
  @IsOptional()
  @IsIn(['success', 'failure', 'denied'])
  status?: string;

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
