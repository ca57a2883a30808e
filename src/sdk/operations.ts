/**
 * The committed document's operations by operationId, for callers that work from the document
 * rather than from a path written in code (the `nimbus` CLI builds its commands from them):
 *
 *   const op = operation('createVolume');   // method, path, path/query parameters, body fields
 *   const volume = await callOperation(client, 'createVolume', { body: { name: 'v', size_gb: 1 } });
 *
 * Calls go through the typed client (openapi-fetch); the result is unwrapped (NimbusApiError on
 * a refusal).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { operations } from './api-types';
import { unwrap, type NimbusClient } from './client';

export type OperationId = keyof operations;

/** The subset of an OpenAPI 3.0 schema object the SDK reads. */
export interface JsonSchema {
  $ref?: string;
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  nullable?: boolean;
  description?: string;
  example?: unknown;
  default?: unknown;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** A path or query parameter, or a top-level field of the JSON body. */
export interface FieldInfo {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface OperationInfo {
  id: OperationId;
  method: 'get' | 'put' | 'post' | 'delete' | 'patch';
  path: string;
  summary: string;
  /** Path parameters in the order they appear in the path. */
  pathParams: FieldInfo[];
  query: FieldInfo[];
  /** Fields of a JSON object body (empty when the operation takes none). */
  body: FieldInfo[];
  /** The operation takes a JSON body. */
  hasBody: boolean;
}

interface RawParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
}

interface RawOperation {
  operationId?: string;
  summary?: string;
  parameters?: RawParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
}

interface RawDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

let loaded: { document: RawDocument; byId: Map<string, OperationInfo> } | undefined;

/** src/sdk/openapi.json (dist/src/sdk/openapi.json in the build: nest-cli.json copies it). */
function documentOf(): RawDocument {
  return JSON.parse(readFileSync(join(__dirname, 'openapi.json'), 'utf8')) as RawDocument;
}

/** Follows `$ref`s (and a single `allOf`) to the schema itself. */
export function resolveSchema(schema: JsonSchema | undefined): JsonSchema {
  const { document } = index();
  let current = schema ?? {};
  for (let depth = 0; depth < 16; depth++) {
    if (current.$ref) {
      const name = current.$ref.replace('#/components/schemas/', '');
      current = { ...document.components.schemas[name], ...stripRef(current) };
    } else if (current.allOf?.length === 1 && !current.properties) {
      const { allOf, ...rest } = current;
      current = { ...allOf[0], ...rest };
    } else return current;
  }
  return current;
}

function stripRef(schema: JsonSchema): JsonSchema {
  const { $ref: _ref, ...rest } = schema;
  return rest;
}

function index(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const document = documentOf();
  const byId = new Map<string, OperationInfo>();
  loaded = { document, byId };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const raw = item[method];
      if (!raw?.operationId) continue;
      const params = raw.parameters ?? [];
      const field = (p: RawParameter): FieldInfo => ({
        name: p.name,
        required: p.required ?? false,
        schema: { ...p.schema, description: p.description ?? p.schema?.description },
      });
      const order = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const json = raw.requestBody?.content?.['application/json']?.schema;
      const bodySchema = json ? resolveSchema(json) : undefined;
      const required = new Set(bodySchema?.required ?? []);
      byId.set(raw.operationId, {
        id: raw.operationId as OperationId,
        method,
        path,
        summary: raw.summary ?? '',
        pathParams: order.map((name) =>
          field(
            params.find((p) => p.in === 'path' && p.name === name) ?? {
              name,
              in: 'path',
              required: true,
            },
          ),
        ),
        query: params.filter((p) => p.in === 'query').map(field),
        body: Object.entries(bodySchema?.properties ?? {}).map(([name, schema]) => ({
          name,
          required: required.has(name),
          schema,
        })),
        hasBody: json !== undefined,
      });
    }
  }
  return loaded;
}

/** One operation of the committed document; throws for an id it does not have. */
export function operation(id: OperationId): OperationInfo {
  const found = index().byId.get(id);
  if (!found) throw new Error(`no operation ${id} in src/sdk/openapi.json`);
  return found;
}

export interface OperationArgs {
  path?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/** Calls an operation by its id; resolves to the success body, throws NimbusApiError. */
export async function callOperation(
  client: NimbusClient,
  id: OperationId,
  args: OperationArgs = {},
): Promise<unknown> {
  const op = operation(id);
  // The path comes from the document at run time, so the typed signature cannot check it: the
  // request goes through the client untyped, the document being the contract here.
  const request = client.request as unknown as (
    method: string,
    path: string,
    init: Record<string, unknown>,
  ) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
  const init: Record<string, unknown> = {
    params: { path: args.path ?? {}, query: args.query ?? {} },
  };
  if (op.hasBody) init.body = args.body ?? {};
  return unwrap(await request(op.method, op.path, init));
}
