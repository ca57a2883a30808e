/** Helpers of the identity e2e tests: accounts, sign-in, event counts, the mail outbox. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { expect } from 'vitest';
import type { TestApp } from '../support/app';

export const PASSWORD = 'correct-horse-7-battery';

export interface Account {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  apiKey: string;
  tenantId: string;
}

let counter = 0;
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

export async function register(t: TestApp, email: string, name = 'Test User'): Promise<string> {
  const res = await t.http().post('/auth/register').send({ email, password: PASSWORD, name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.user_id as string;
}

export async function login(t: TestApp, email: string, password = PASSWORD) {
  return t.http().post('/auth/login').send({ email, password });
}

/** Registers and signs in; the account's tenant is its personal tenant. */
export async function signUp(t: TestApp, label = 'user'): Promise<Account> {
  const email = uniqueEmail(label);
  const userId = await register(t, email);
  const res = await login(t, email);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const me = await t.http().get('/me').set('authorization', `Bearer ${res.body.access_token}`);
  expect(me.status, JSON.stringify(me.body)).toBe(200);
  return {
    userId,
    email,
    password: PASSWORD,
    accessToken: res.body.access_token,
    refreshToken: res.body.refresh_token,
    apiKey: res.body.api_key,
    tenantId: me.body.tenant.id,
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Events in the log, optionally ignoring some types (AccessDenied). */
export async function countEvents(t: TestApp, ignoreTypes: string[] = []): Promise<number> {
  const client = new Client({ connectionString: t.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM events WHERE NOT (event_type = ANY($1::text[]))',
      [ignoreTypes],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/** Type and stream of the newest `count` events, newest first (to say what a call appended). */
export async function newestEvents(t: TestApp, count: number): Promise<string[]> {
  const client = new Client({ connectionString: t.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ event_type: string; stream_id: string }>(
      'SELECT event_type, stream_id FROM events ORDER BY global_position DESC LIMIT $1',
      [count],
    );
    return rows.map((r) => `${r.event_type} ${r.stream_id}`);
  } finally {
    await client.end();
  }
}

export async function eventsOfType(
  t: TestApp,
  type: string,
): Promise<Array<{ stream_id: string; data: Record<string, unknown> }>> {
  const client = new Client({ connectionString: t.database.url });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT * FROM events WHERE event_type = $1 ORDER BY global_position',
      [type],
    );
    return rows as Array<{ stream_id: string; data: Record<string, unknown> }>;
  } finally {
    await client.end();
  }
}

/** The reset token of the newest .eml file sent to `email`. */
export function resetTokenFromOutbox(t: TestApp, email: string): string {
  const dir = join(t.config.dataDir, 'mail');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort();
  for (const file of files.reverse()) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (!text.includes(`To: <${email}>`)) continue;
    const m = /^Reset-Token: (\S+)\r?$/m.exec(text);
    if (m) return m[1];
  }
  throw new Error(`no reset mail for ${email} in ${dir}`);
}

// ---------------------------------------------------------------- walking /openapi.json

export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  allOf?: OpenApiSchema[];
  minLength?: number;
  nullable?: boolean;
}

export interface OpenApiOperation {
  method: string;
  path: string;
  pathParams: string[];
  bodySchema: OpenApiSchema | null;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ in: string; name: string }>;
        requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
      }
    >
  >;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

export async function openApiOperations(
  t: TestApp,
): Promise<{ operations: OpenApiOperation[]; resolve: (s: OpenApiSchema) => OpenApiSchema }> {
  const res = await t.http().get('/openapi.json');
  expect(res.status).toBe(200);
  const doc = res.body as OpenApiDocument;
  const resolve = (schema: OpenApiSchema): OpenApiSchema => {
    let s = schema;
    for (let i = 0; s.$ref && i < 10; i++) {
      const name = s.$ref.split('/').pop() ?? '';
      s = doc.components?.schemas?.[name] ?? {};
    }
    if (s.allOf) {
      const merged: OpenApiSchema = { type: 'object', properties: {}, required: [] };
      for (const part of s.allOf.map(resolve)) {
        Object.assign(merged.properties ?? {}, part.properties ?? {});
        merged.required?.push(...(part.required ?? []));
      }
      return merged;
    }
    return s;
  };
  const operations: OpenApiOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const schema = op.requestBody?.content?.['application/json']?.schema;
      operations.push({ method, path, pathParams, bodySchema: schema ? resolve(schema) : null });
    }
  }
  return { operations, resolve };
}

/** A minimal body satisfying `schema` (required properties only, from examples or types). */
export function minimalValue(
  schema: OpenApiSchema,
  resolve: (s: OpenApiSchema) => OpenApiSchema,
  ids: { uuid: string },
): unknown {
  const s = resolve(schema);
  if (s.example !== undefined) return s.example;
  if (s.enum && s.enum.length > 0) return s.enum[0];
  switch (s.type) {
    case 'object':
    case undefined: {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) {
        out[name] = minimalValue(s.properties?.[name] ?? { type: 'string' }, resolve, ids);
      }
      return out;
    }
    case 'array':
      return [minimalValue(s.items ?? { type: 'string' }, resolve, ids)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return false;
    default:
      if (s.format === 'uuid') return ids.uuid;
      if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      return 'minimal-value';
  }
}

/** A value of the wrong JSON type for `schema`. */
export function wrongTypeValue(
  schema: OpenApiSchema,
  resolve: (s: OpenApiSchema) => OpenApiSchema,
): unknown {
  const s = resolve(schema);
  switch (s.type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
    case 'boolean':
      return 'not-a-number';
    case 'array':
      return 'not-an-array';
    case 'object':
    case undefined:
      return 'not-an-object';
    default:
      return 'not-an-object';
  }
}

/**
 * The kind of resource a path parameter names: `policyId` -> policy, `resource_id` -> resource;
 * `id` after `policies` -> policy (the segment before it, singular).
 */
export function resourceKindOf(path: string, param: string): string {
  if (param !== 'id' && /Id$/.test(param)) return param.slice(0, -2).toLowerCase();
  if (/_id$/.test(param)) return param.slice(0, -3).toLowerCase();
  const segments = path.split('/');
  const at = segments.indexOf(`{${param}}`);
  const before = at > 0 ? segments[at - 1] : param;
  if (before.endsWith('ies')) return `${before.slice(0, -3)}y`;
  if (before.endsWith('ses')) return before.slice(0, -2);
  if (before.endsWith('s')) return before.slice(0, -1);
  return before;
}
