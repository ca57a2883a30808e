import { z } from 'zod';
import { timestamp, uuid } from '../platform/http/api-schema';

const RESOURCE_TYPE = z.enum(['compute', 'storage', 'network']);

export const BillingSummarySchema = z
  .object({
    period_start: timestamp(),
    period_end: timestamp(),
    total_amount: z.number().meta({ description: 'USD, rounded half-even to cents' }),
    currency: z.literal('USD'),
    usage_by_type: z.object({ compute: z.number(), storage: z.number(), network: z.number() }),
  })
  .meta({
    id: 'BillingSummary',
    example: {
      period_start: '2026-01-01T00:00:00.000Z',
      period_end: '2026-02-01T00:00:00.000Z',
      total_amount: 12.34,
      currency: 'USD',
      usage_by_type: { compute: 10.3, storage: 2.04, network: 0 },
    },
  });

export const UsageRecordSchema = z
  .object({
    resource_id: uuid(),
    resource_type: RESOURCE_TYPE,
    description: z.string(),
    quantity: z.number(),
    unit: z.string().meta({ example: 'instance-hour' }),
    unit_price: z.number().meta({ description: 'USD per unit per hour' }),
    amount: z.number().meta({ description: 'USD, rounded half-even to cents' }),
    start: timestamp(),
    end: timestamp('Exclusive; for ongoing usage, the instant it is billed up to'),
  })
  .meta({ id: 'UsageRecord' });
