import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  ERROR_CODES,
  ERROR_DESCRIPTIONS,
  httpStatusOf,
  type ErrorCode,
} from '../common/errors/error-codes';
import {
  ERROR_ENVELOPE_SCHEMA_NAME,
  ERROR_ENVELOPE_SCHEMA,
  exampleEnvelope,
  type ErrorEnvelope,
} from '../common/errors/error-envelope';
import { Public } from '../common/public-route';
import { ApiOperationFor } from '../platform/http/api-operation';

export interface ErrorModel {
  envelope: {
    content_type: string;
    schema: typeof ERROR_ENVELOPE_SCHEMA;
    example: ErrorEnvelope;
  };
  codes: Array<{ code: ErrorCode; status: number; description: string; example: ErrorEnvelope }>;
}

const ENVELOPE = { $ref: `#/components/schemas/${ERROR_ENVELOPE_SCHEMA_NAME}` };

/** OpenAPI schema of `GET /meta/error-model`. */
const ERROR_MODEL_SCHEMA = {
  type: 'object',
  required: ['envelope', 'codes'],
  properties: {
    envelope: {
      type: 'object',
      required: ['content_type', 'schema', 'example'],
      properties: {
        content_type: { type: 'string' },
        schema: { type: 'object', description: 'The JSON schema of the envelope' },
        example: ENVELOPE,
      },
    },
    codes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'status', 'description', 'example'],
        properties: {
          code: { type: 'string', enum: [...ERROR_CODES] },
          status: { type: 'integer' },
          description: { type: 'string' },
          example: ENVELOPE,
        },
      },
    },
  },
};

/** The error catalog, built from src/common/errors/error-codes.ts so it cannot drift. */
export function errorModel(): ErrorModel {
  return {
    envelope: {
      content_type: 'application/json',
      schema: ERROR_ENVELOPE_SCHEMA,
      example: exampleEnvelope('invalid_state'),
    },
    codes: ERROR_CODES.map((code) => ({
      code,
      status: httpStatusOf(code),
      description: ERROR_DESCRIPTIONS[code],
      example: exampleEnvelope(code),
    })),
  };
}

@ApiTags('platform')
@Public()
@Controller('meta')
export class MetaController {
  private readonly model = errorModel();

  @Get('error-model')
  @ApiOperationFor({
    id: 'getErrorModel',
    summary: 'The error envelope and every stable error code with its HTTP status',
    schema: ERROR_MODEL_SCHEMA,
  })
  errorModel(): ErrorModel {
    return this.model;
  }
}
