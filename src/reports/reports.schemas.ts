import { z } from 'zod';
import { timestamp, uuid } from '../platform/http/api-schema';
import { REPORT_FORMATS, REPORT_TYPES } from './domain/report';

export const ReportSchema = z
  .object({
    id: uuid(),
    type: z.enum(REPORT_TYPES),
    format: z.enum(REPORT_FORMATS),
    period: z.string(),
    status: z.enum(['pending', 'generating', 'ready', 'failed']),
    filename: z.string().nullable(),
    content_type: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
    error: z.string().nullable(),
    created_at: timestamp(),
    completed_at: timestamp().nullable(),
    download_url: z.string().nullable(),
  })
  .meta({ id: 'Report' });
