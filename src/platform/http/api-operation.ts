import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { z } from 'zod';
import { ApiErrors } from '../../common/errors/error-envelope';
import type { ErrorCode } from '../../common/errors/error-codes';
import { AcceptedSchema, pageOf } from './api-schema';

/** How an operationId must read: a verb and a resource in camelCase (`launchInstance`). */
export const OPERATION_ID_PATTERN = /^[a-z][a-zA-Z0-9]*$/;

export interface OperationSpec {
  /**
   * The operationId, which is the SDK's method name: a verb and the resource in camelCase
   * (`listInstances`, `launchInstance`, `getVpc`). Unique across the document.
   */
  id: string;
  summary: string;
  description?: string;
  /** The success status (default 200). Keep it equal to the route's `@HttpCode`. */
  status?: 200 | 201 | 202 | 204;
  /**
   * The success body: a zod schema with an `id` in its metadata (see api-schema.ts), or a
   * class with `@ApiProperty` decorators. Omit only with `schema`, `status: 204` or `produces`.
   */
  response?: z.ZodType | Type<unknown>;
  /** A hand-written OpenAPI schema of the success body, when neither zod nor a class fits. */
  schema?: Record<string, unknown>;
  /** A class response is an array of it. */
  isArray?: boolean;
  /** A list route: a bare array, or `{ items, page }` with envelope=true or a cursor. */
  page?: boolean;
  /** A non-JSON body (a file, a stream): its media types, the body is binary. */
  produces?: string[];
  /**
   * A command route that answers 202 with `{ id }` and a Location when the read model has not
   * caught up within the read-your-writes bound.
   */
  accepted?: boolean;
  /** Error codes beyond the ones the auth decorators already document. */
  errors?: ErrorCode[];
  /** An example success body (zod schemas may carry their own in `.meta({ example })`). */
  example?: unknown;
}

/** `page` of a list envelope, for list routes whose items are a class. */
const PAGE_INFO_SCHEMA = {
  type: 'object' as const,
  required: ['limit', 'next_cursor', 'has_more'],
  properties: {
    limit: { type: 'integer' as const, minimum: 1 },
    next_cursor: { type: 'string' as const, nullable: true },
    has_more: { type: 'boolean' as const },
  },
};

function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '~standard' in value;
}

/**
 * Everything the OpenAPI document says about one operation, in one decorator:
 *
 *   @Get(':id')
 *   @ApiOperationFor({ id: 'getVpc', summary: 'Describe a VPC', response: VpcSchema, errors: ['not_found'] })
 *   get(...): Promise<ResponseBody<typeof VpcSchema>>
 *
 * test/unit/openapi-document.spec.ts fails for an operation without a success schema or with
 * a generated operationId, naming the route.
 */
export function ApiOperationFor(spec: OperationSpec): MethodDecorator {
  if (!OPERATION_ID_PATTERN.test(spec.id)) {
    throw new Error(`operationId ${spec.id} must be camelCase (verb + resource: listInstances)`);
  }
  const status = spec.status ?? 200;
  const decorators: Array<ClassDecorator | MethodDecorator | PropertyDecorator> = [
    ApiOperation({
      operationId: spec.id,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
    }),
  ];
  const example = spec.example !== undefined ? { example: spec.example } : {};
  if (spec.produces) {
    decorators.push(
      ApiProduces(...spec.produces),
      ApiResponse({
        status,
        description: `The file (${spec.produces.join(' or ')})`,
        schema: { type: 'string', format: 'binary' },
      }),
    );
  } else if (status === 204) {
    decorators.push(ApiResponse({ status, description: 'Done; no body' }));
  } else if (spec.schema) {
    decorators.push(
      ApiResponse({ status, description: spec.summary, schema: spec.schema, ...example }),
    );
  } else if (spec.response === undefined) {
    throw new Error(`operation ${spec.id}: declare its response (or status 204 / produces)`);
  } else if (isZodSchema(spec.response)) {
    const schema = spec.page ? pageOf(spec.response) : spec.response;
    decorators.push(
      ApiResponse({ status, description: spec.summary, standardSchema: schema, ...example }),
    );
  } else if (spec.page) {
    const item = { $ref: getSchemaPath(spec.response) };
    decorators.push(
      ApiExtraModels(spec.response),
      ApiResponse({
        status,
        description: spec.summary,
        schema: {
          anyOf: [
            { type: 'array', items: item },
            {
              type: 'object',
              required: ['items', 'page'],
              properties: { items: { type: 'array', items: item }, page: PAGE_INFO_SCHEMA },
            },
          ],
        },
        ...example,
      }),
    );
  } else {
    decorators.push(
      ApiResponse({
        status,
        description: spec.summary,
        type: spec.response,
        isArray: spec.isArray ?? false,
        ...example,
      }),
    );
  }
  if (spec.accepted && status !== 202) {
    decorators.push(
      ApiResponse({
        status: 202,
        description: 'Recorded; the read model has not caught up yet (GET the Location)',
        standardSchema: AcceptedSchema,
      }),
    );
  }
  if (spec.errors && spec.errors.length > 0) decorators.push(ApiErrors(...spec.errors));
  return applyDecorators(...decorators);
}
