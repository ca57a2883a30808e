import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../common/pagination';
import { RESOURCE_TYPES } from './domain';

export class BillingSummaryQuery {
  @ApiPropertyOptional({ description: 'Month as YYYY-MM (default: the current month)' })
  @IsOptional()
  @IsString()
  @MaxLength(7)
  period?: string;
}

export class BillingUsageQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Month as YYYY-MM (default: the current month)' })
  @IsOptional()
  @IsString()
  @MaxLength(7)
  period?: string;

  @ApiPropertyOptional({ description: 'Only the usage of this resource (instance or volume id)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  resource_id?: string;

  @ApiPropertyOptional({ enum: RESOURCE_TYPES })
  @IsOptional()
  @IsIn(RESOURCE_TYPES)
  resource_type?: string;
}
