import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ERROR_ENVELOPE_SCHEMA, ERROR_ENVELOPE_SCHEMA_NAME } from '../common/errors/error-envelope';

/** Tags of the bounded contexts; a controller picks its own with `@ApiTags('network')`. */
export const API_TAGS: ReadonlyArray<[string, string]> = [
  ['identity', 'Users, tenants, API keys, IAM policies and sessions'],
  ['compute', 'Instances, instance types, images and volumes'],
  ['network', 'VPCs, subnets, peering, gateways and security groups'],
  ['storage', 'Buckets, objects and volumes'],
  ['services', 'Managed services and Kubernetes clusters'],
  ['billing', 'Usage, prices and invoices'],
  ['audit', 'Audit log and tenant timeline'],
  ['admin', 'Projections and operations'],
  ['platform', 'Health, readiness and the error model'],
];

export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api_key';

const ENVELOPE_REF = { $ref: `#/components/schemas/${ERROR_ENVELOPE_SCHEMA_NAME}` };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/** The OpenAPI document of every route of the application. */
export function buildOpenApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Nimbus API')
    .setDescription(
      'Self-hosted cloud control plane. Errors use the envelope {"error": {"code", "message", "details", "request_id"}} (catalog: GET /meta/error-model). Every POST accepts an Idempotency-Key.',
    )
    .setVersion(version)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT, or an API key' },
      BEARER_SCHEME,
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME);
  for (const [name, description] of API_TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  return withConventions(document);
}

/**
 * Adds what every route shares: the error envelope schema as the default response, the
 * X-Request-ID header, and Idempotency-Key on every POST.
 */
export function withConventions(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas[ERROR_ENVELOPE_SCHEMA_NAME] = structuredClone(
    ERROR_ENVELOPE_SCHEMA,
  ) as never;
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.responses ??= {};
      op.responses.default ??= {
        description: 'Error (see GET /meta/error-model for the codes)',
        content: { 'application/json': { schema: ENVELOPE_REF } },
      };
      op.parameters ??= [];
      op.parameters.push({
        name: 'X-Request-ID',
        in: 'header',
        required: false,
        description: 'Echoed on the response; generated when absent (1..128 printable characters).',
        schema: { type: 'string', maxLength: 128 },
      });
      if (method === 'post') {
        op.parameters.push({
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Replays the first response for the same key and body; 422 idempotency_key_reused for a different body; 409 while the first is still running. Kept 24 h.',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        });
      }
    }
  }
  return document;
}
