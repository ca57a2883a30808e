import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ERROR_CODES,
  ERROR_DESCRIPTIONS,
  httpStatusOf,
  type ErrorCode,
} from '../common/errors/error-codes';
import {
  ERROR_ENVELOPE_SCHEMA,
  exampleEnvelope,
  type ErrorEnvelope,
} from '../common/errors/error-envelope';
import { Public } from '../common/public-route';

export interface ErrorModel {
  envelope: {
    content_type: string;
    schema: typeof ERROR_ENVELOPE_SCHEMA;
    example: ErrorEnvelope;
  };
  codes: Array<{ code: ErrorCode; status: number; description: string; example: ErrorEnvelope }>;
}

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
  @ApiOperation({ summary: 'The error envelope and every stable error code with its HTTP status' })
  @ApiOkResponse({ description: 'The error catalog' })
  errorModel(): ErrorModel {
    return this.model;
  }
}
