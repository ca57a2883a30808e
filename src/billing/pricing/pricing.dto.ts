import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SKU_UNITS } from '../domain/price-catalog';
import {
  IsDefined,
  IsISO8601,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';

const DECIMAL_USD = /^\d{1,12}(?:\.\d{1,6})?$/;

/** A non-negative USD amount with at most six decimals, as a decimal string or a JSON number. */
export function isExactUsd(value: unknown): boolean {
  if (typeof value === 'string') return DECIMAL_USD.test(value);
  if (typeof value === 'number') return Number.isFinite(value) && DECIMAL_USD.test(String(value));
  return false;
}

function IsExactUsd(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isExactUsd',
      validator: {
        validate: isExactUsd,
        defaultMessage: () =>
          'must be a non-negative amount of USD with at most 6 decimals, as a decimal string ("0.025") or a number',
      },
    },
    options,
  );
}

export class SetPriceBody {
  @ApiProperty({
    oneOf: [
      { type: 'string', example: '0.025' },
      { type: 'number', example: 0.025 },
    ],
    description:
      'USD per unit-hour (instance-hour or GB-hour), exact: at most 6 decimals. A decimal string is exact; a number is read from its JSON text.',
  })
  @IsDefined()
  @IsExactUsd()
  unit_price!: string | number;

  @ApiPropertyOptional({
    description:
      'RFC 3339 instant from which usage is billed at this price (default: now). Not in the past.',
    example: '2026-12-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  effective_at?: string;

  @ApiPropertyOptional({ description: 'Why the price changes (kept in the history).' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason?: string;
}

export class PriceJson {
  @ApiProperty({ example: 'instance:basic-2' })
  sku!: string;

  @ApiProperty({ enum: SKU_UNITS })
  unit!: string;

  @ApiProperty({ example: 0.02, description: 'USD per unit-hour (exact, at most 6 decimals).' })
  unit_price!: number;

  @ApiProperty({ example: '0.020000', description: 'The same price as exact decimal text.' })
  unit_price_exact!: string;

  @ApiProperty({ example: '2026-12-01T00:00:00Z' })
  effective_at!: string;

  @ApiProperty({ example: 'initial catalog' })
  reason!: string;
}

export class PriceCatalogJson {
  @ApiProperty({ description: 'The instant the catalog is shown for.' })
  as_of!: string;

  @ApiProperty({ type: [PriceJson], description: 'The price of each SKU in force now.' })
  prices!: PriceJson[];

  @ApiProperty({ type: [PriceJson], description: 'Changes that take effect later.' })
  scheduled!: PriceJson[];

  @ApiProperty({ type: [PriceJson], description: 'Every price ever set, in order.' })
  history!: PriceJson[];
}
