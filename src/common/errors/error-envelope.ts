import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_DESCRIPTIONS, httpStatusOf, type ErrorCode } from './error-codes';

/** The body of every error response. */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    details: Record<string, unknown>;
    request_id: string | null;
  };
}

export function errorEnvelope(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> | undefined,
  requestId: string | null,
): ErrorEnvelope {
  return { error: { code, message, details: details ?? {}, request_id: requestId } };
}

export const ERROR_ENVELOPE_SCHEMA_NAME = 'ErrorEnvelope';

/** OpenAPI schema of the envelope, registered as a component of the document. */
export const ERROR_ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'request_id'],
      properties: {
        code: { type: 'string', description: 'Stable error code; see GET /meta/error-model.' },
        message: { type: 'string', description: 'Human-readable explanation; may change.' },
        details: {
          type: 'object',
          additionalProperties: true,
          description: 'Machine-readable context; validation errors list details.fields.',
        },
        request_id: {
          type: 'string',
          nullable: true,
          description: 'The X-Request-ID of the request.',
        },
      },
    },
  },
} as const;

/** An example envelope for the catalog and the OpenAPI document. */
export function exampleEnvelope(code: ErrorCode): ErrorEnvelope {
  const details: Record<string, unknown> =
    code === 'validation_error'
      ? { fields: [{ path: 'volumes.0.mount_path', message: 'mount_path must be a string' }] }
      : {};
  return errorEnvelope(
    code,
    ERROR_DESCRIPTIONS[code],
    details,
    '6f1c2a8e-3b7d-4c1e-9a2f-5d8e7b6c4a3f',
  );
}

/**
 * Documents the error responses of a route (or every route of a controller) with the error
 * envelope schema: `@ApiErrors('not_found', 'conflict')`. Codes sharing a status are listed
 * together, each with its example.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((c) => `\`${c}\`: ${ERROR_DESCRIPTIONS[c]}`).join('\n\n'),
        schema: { $ref: `#/components/schemas/${ERROR_ENVELOPE_SCHEMA_NAME}` },
        examples: Object.fromEntries(
          group.map((c) => [c, { summary: c, value: exampleEnvelope(c) }]),
        ),
      }),
    ),
  );
}
