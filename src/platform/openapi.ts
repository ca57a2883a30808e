import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ERROR_ENVELOPE_SCHEMA, ERROR_ENVELOPE_SCHEMA_NAME } from '../common/errors/error-envelope';

/**
 * Tags of the resource families; a controller picks its own with `@ApiTags('network')`, and
 * test/unit/openapi-document.spec.ts fails on a tag not declared here.
 */
export const API_TAGS: ReadonlyArray<[string, string]> = [
  ['identity', 'Users, tenants, API keys, IAM policies and sessions'],
  ['compute', 'Instances and instance types'],
  ['images', 'Root filesystem images: registered, uploaded or imported by URL'],
  ['volumes', 'Persistent volumes attached to instances'],
  ['logs', 'Platform and console logs of instances, images and volumes'],
  ['network', 'VPCs, subnets, peering, gateways and security groups'],
  ['internet-gateways', 'Internet gateways attached to VPCs'],
  ['elastic-ips', 'Elastic IP addresses associated with instances'],
  ['nat-gateways', 'NAT gateways giving private subnets outbound access'],
  ['vpc-peerings', 'Peerings linking two VPCs, across tenants too'],
  ['storage', 'Buckets, objects and volumes'],
  ['services', 'Managed services and Kubernetes clusters'],
  ['databases', 'Managed PostgreSQL databases: replicas, credentials, stop and start'],
  ['caches', 'Managed Redis caches'],
  ['secrets', 'Encrypted secrets: database and cache credentials, and your own'],
  ['billing', 'Usage, prices and invoices'],
  ['audit', 'Audit log and its action catalog'],
  ['timeline', 'Signed tenant timeline export, its verification and point-in-time state'],
  ['events', 'The tenant event feed and the event type catalog'],
  ['webhooks', 'Signed webhook subscriptions and their delivery log'],
  ['reports', 'Billing, audit and timeline reports generated in the background'],
  ['privacy', "The caller's personal data: export and erasure"],
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
  for (const schema of Object.values(document.components.schemas)) typeNullableReferences(schema);
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.responses ??= {};
      jsonErrorBodies(op.responses);
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

/**
 * A route that answers with bytes (any media type) still refuses with the JSON envelope:
 * its error responses are declared under the route's media type, and are moved to JSON.
 */
function jsonErrorBodies(responses: Record<string, unknown>): void {
  for (const [status, response] of Object.entries(responses)) {
    if (!/^[45]\d\d$/.test(status)) continue;
    const content = (response as { content?: Record<string, unknown> }).content;
    if (!content || content['application/json'] !== undefined) continue;
    const [first] = Object.values(content);
    if (first === undefined) continue;
    (response as { content: Record<string, unknown> }).content = { 'application/json': first };
  }
}

/**
 * OpenAPI 3.0 allows `nullable` only beside a `type`: a nullable reference to an object schema
 * (`{ nullable, allOf: [{ $ref }] }`, how zod writes `Schema.nullable()`) gets `type: object`.
 * A nullable enum lists null among its values, or validators refuse the null it allows.
 */
function typeNullableReferences(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) typeNullableReferences(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  if (schema.nullable === true && schema.type === undefined && Array.isArray(schema.allOf)) {
    schema.type = 'object';
  }
  if (schema.nullable === true && Array.isArray(schema.enum) && !schema.enum.includes(null)) {
    schema.enum.push(null);
  }
  for (const value of Object.values(schema)) typeNullableReferences(value);
}
