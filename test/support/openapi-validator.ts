import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.0 document the validator reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown> };
}

export interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/** Every operation of a document with its method and path. */
export function operationsOf(
  document: OpenApiDocument,
): Array<{ method: string; path: string; operation: OpenApiOperation }> {
  const out: Array<{ method: string; path: string; operation: OpenApiOperation }> = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) out.push({ method, path, operation });
    }
  }
  return out;
}

/**
 * Ajv for the schemas of an OpenAPI 3.0 document: `nullable` is understood, the annotations
 * OpenAPI adds (`example`, `deprecated`...) are known keywords, every component schema is
 * registered under its `#/components/schemas/<name>` reference, and compiling is strict (an
 * unknown keyword or a malformed schema throws).
 */
export function openApiAjv(document: OpenApiDocument): Ajv {
  const ajv = new Ajv({
    strict: true,
    strictRequired: false,
    allErrors: true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  ajv.addVocabulary(['example', 'xml', 'externalDocs', 'components']);
  ajv.addSchema({ components: nullableComposites(document.components) }, 'openapi.json');
  return ajv;
}

/** Rewrites `#/components/...` references to the registered document. */
function anchored(schema: unknown): unknown {
  return nullableComposites(
    JSON.parse(
      JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'),
    ) as unknown,
  );
}

/**
 * `nullable: true` admits null beside what the rest of the schema admits. Ajv applies it to
 * `type` only, so a nullable reference (`{ nullable, type: object, allOf: [{ $ref }] }`) would
 * still refuse null through its `allOf`: such schemas become `anyOf: [null, the schema]`.
 */
function nullableComposites<T>(node: T): T {
  if (Array.isArray(node)) return node.map((item: unknown) => nullableComposites(item)) as T;
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = nullableComposites(value);
  const composite = ['allOf', 'anyOf', 'oneOf', '$ref'].some((k) => out[k] !== undefined);
  if (out.nullable !== true || !composite) return out as T;
  const { nullable: _nullable, ...rest } = out;
  return { anyOf: [{ type: 'null' }, rest] } as T;
}

/**
 * Validates a live response against what the document says of its operation and status:
 *
 *   const check = responseValidator(document);
 *   expect(check('listInstances', 200, body)).toEqual([]);
 */
export function responseValidator(
  document: OpenApiDocument,
): (operationId: string, status: number, body: unknown) => string[] {
  const ajv = openApiAjv(document);
  const byId = new Map(operationsOf(document).map((o) => [o.operation.operationId, o]));
  const compiled = new Map<string, ValidateFunction>();
  return (operationId, status, body) => {
    const found = byId.get(operationId);
    if (!found) return [`no operation ${operationId} in the document`];
    const response = found.operation.responses?.[String(status)];
    const schema = response?.content?.['application/json']?.schema;
    if (!schema) return [`${operationId} documents no JSON body for status ${status}`];
    const key = `${operationId} ${status}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(anchored(schema) as object);
      compiled.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) =>
        `${operationId} ${status}: ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  };
}
