/**
 * The generated SDK bound to a test app, for e2e tests:
 *
 *   const alice = await sdkSignUp(t, 'alice');              // registers, signs in
 *   const vpc = unwrap(await alice.sdk.POST('/vpcs', { body: { name: 'v' } }));
 *   const bob = sdkFor(t, { apiKey: key });                 // any credential
 *   const raw = await alice.sdk.GET('/vpcs/{id}', { params: { path: { id } } });
 *   expect(raw.response.status).toBe(404);                  // refusals stay inspectable
 *
 * Paths, bodies and answers are typed from src/sdk/api-types.ts, and every JSON answer is
 * checked against the committed document's schema for its operation and status (ajv): a
 * response that stops matching the document fails the call with the schema's complaint.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'openapi-fetch';
import supertest from 'supertest';
import {
  createNimbusClient,
  itemsOf,
  unwrap,
  type NimbusClient,
  type NimbusClientOptions,
  type Schemas,
} from '../../src/sdk/client';
import type { TestApp } from './app';
import { operationsOf, responseValidator, type OpenApiDocument } from './openapi-validator';

export {
  NimbusApiError,
  itemsOf,
  unwrap,
  type NimbusClient,
  type Schemas,
} from '../../src/sdk/client';

export const COMMITTED_DOCUMENT = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'src', 'sdk', 'openapi.json'), 'utf8'),
) as OpenApiDocument;

let validator: ReturnType<typeof responseValidator> | undefined;
let operationIds: Map<string, string> | undefined;

/** Fails a call whose JSON answer its operation does not document (status or body). */
export const validateAgainstDocument: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('application/json')) return undefined;
    validator ??= responseValidator(COMMITTED_DOCUMENT);
    operationIds ??= new Map(
      operationsOf(COMMITTED_DOCUMENT).map((o) => [
        `${o.method.toUpperCase()} ${o.path}`,
        o.operation.operationId ?? '',
      ]),
    );
    const id = operationIds.get(`${request.method} ${schemaPath}`);
    if (!id) throw new Error(`${request.method} ${schemaPath} is not in src/sdk/openapi.json`);
    const body: unknown = await response.clone().json();
    const problems = validator(id, response.status, body);
    if (problems.length > 0) {
      throw new Error(
        `${request.method} ${new URL(request.url).pathname} answered ${response.status} with a body the document does not describe:\n${problems.join('\n')}\nbody: ${JSON.stringify(body).slice(0, 800)}`,
      );
    }
    return undefined;
  },
};

/** The documented operation a concrete request path is, templates matching one segment each. */
let templates:
  | Array<{ method: string; pattern: RegExp; literal: number; segments: number; id: string }>
  | undefined;
function operationOfRequest(method: string, path: string): string | null {
  templates ??= operationsOf(COMMITTED_DOCUMENT).map((o) => ({
    method: o.method.toUpperCase(),
    // A last parameter takes the rest of the path: an object key holds slashes.
    pattern: new RegExp(`^${o.path.replace(/\{[^}]+\}$/, '.+').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    literal: o.path.split('/').filter((segment) => !segment.startsWith('{')).length,
    segments: o.path.split('/').length,
    id: o.operation.operationId ?? '',
  }));
  const bare = path.split('?')[0];
  const matches = templates.filter((t) => t.method === method && t.pattern.test(bare));
  // /instances/types before /instances/{id}, and /storage/{bucket}/{path} before
  // /storage/{bucket}: the most literal segments win, then the most segments.
  matches.sort((a, b) => b.literal - a.literal || b.segments - a.segments);
  return matches[0]?.id ?? null;
}

function documentsJson(operationId: string, status: number): boolean {
  const operation = operationsOf(COMMITTED_DOCUMENT).find(
    (o) => o.operation.operationId === operationId,
  )?.operation;
  return operation?.responses?.[String(status)]?.content?.['application/json'] !== undefined;
}

/**
 * A supertest agent on the test app whose every JSON answer must be what the document says its
 * operation answers with that status: for tests that send requests the SDK's types would refuse
 * or that predate it. A route the document lacks fails the request too.
 */
export function conformingHttp(t: TestApp): ReturnType<TestApp['http']> {
  const agent = t.http();
  const check = (res: supertest.Response): void => {
    const request = (res as unknown as { req: { method: string; path: string } }).req;
    const id = operationOfRequest(request.method, request.path);
    if (!id) throw new Error(`${request.method} ${request.path} is not in src/sdk/openapi.json`);
    if (!String(res.headers['content-type'] ?? '').includes('application/json')) return;
    // An answer the document declares as bytes (an object's content) is the user's JSON.
    if (res.status < 400 && !documentsJson(id, res.status)) return;
    validator ??= responseValidator(COMMITTED_DOCUMENT);
    const problems = validator(id, res.status, res.body);
    if (problems.length > 0) {
      throw new Error(
        `${request.method} ${request.path} answered ${res.status} with a body the document does not describe:\n${problems.join('\n')}\nbody: ${JSON.stringify(res.body).slice(0, 800)}`,
      );
    }
  };
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const made: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return made instanceof supertest.Test ? made.expect(check) : made;
      };
    },
  });
}

export interface SdkOptions extends Omit<NimbusClientOptions, 'endpoint'> {
  /** Check every JSON answer against the document (default true). */
  validate?: boolean;
}

/** A typed client of the test app's listening server with the given credential. */
export function sdkFor(t: TestApp, options: SdkOptions = {}): NimbusClient {
  if (!t.baseUrl) throw new Error('sdkFor needs a listening test app (listen: true)');
  const { validate = true, ...rest } = options;
  const client = createNimbusClient({ endpoint: t.baseUrl, ...rest });
  if (validate) client.use(validateAgainstDocument);
  return client;
}

export const SDK_PASSWORD = 'correct-horse-7-battery';

export interface SdkAccount {
  userId: string;
  email: string;
  password: string;
  apiKey: string;
  accessToken: string;
  refreshToken: string;
  tenantId: string;
  /** The SDK signed in with the account's API key. */
  sdk: NimbusClient;
}

let counter = 0;

/** Registers an account and signs it in, through the SDK. */
export async function sdkSignUp(t: TestApp, label = 'user'): Promise<SdkAccount> {
  counter += 1;
  const email = `${label}-${process.pid}-${Date.now()}-${counter}@example.com`;
  const anonymous = sdkFor(t);
  const { user_id: userId } = unwrap(
    await anonymous.POST('/auth/register', {
      body: { email, password: SDK_PASSWORD, name: label },
    }),
  );
  const session = unwrap(
    await anonymous.POST('/auth/login', { body: { email, password: SDK_PASSWORD } }),
  );
  if (!session.api_key) throw new Error(`login of ${email} returned no API key`);
  const sdk = sdkFor(t, { apiKey: session.api_key });
  const me = unwrap(await sdk.GET('/me'));
  if (!me.tenant) throw new Error(`${email} has no tenant`);
  return {
    userId,
    email,
    password: SDK_PASSWORD,
    apiKey: session.api_key,
    accessToken: session.access_token,
    refreshToken: session.refresh_token,
    tenantId: me.tenant.id,
    sdk,
  };
}

/**
 * Polls a get until `done` holds for its body (404 while the read model catches up counts as
 * not yet); the last answer on timeout.
 */
export async function pollUntil<T>(
  get: () => Promise<{ data?: T; response: Response }>,
  done: (body: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    const result = await get();
    if (result.response.ok && result.data !== undefined) {
      last = result.data;
      if (done(last)) return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * The error envelope of a refused call, after checking its status and code:
 *
 *   const error = refusedWith(await sdk.POST('/volumes', { body }), 403, 'quota_exceeded');
 *   expect(error.details).toMatchObject({ limit: 1 });
 */
export function refusedWith(
  result: { error?: unknown; response: Response },
  status: number,
  code: string,
): Schemas['ErrorEnvelope']['error'] {
  const envelope = result.error as Schemas['ErrorEnvelope'] | undefined;
  const seen = `${result.response.status} ${JSON.stringify(result.error ?? null)}`;
  if (result.response.status !== status || envelope?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${seen}`);
  }
  return envelope.error;
}

/** Clients of one test app by credential, for tests that switch credentials call by call. */
/** `app` is read at each call: the app a `beforeAll` starts, or restarts. */
export function sdkClients(app: () => TestApp) {
  return {
    /** Signed in with a JWT, acting in `tenantId` when given (X-Tenant-ID). */
    withToken: (token: string, tenantId?: string): NimbusClient =>
      sdkFor(app(), { token, tenantId }),
    withKey: (apiKey: string): NimbusClient => sdkFor(app(), { apiKey }),
    anonymous: (): NimbusClient => sdkFor(app()),
    /** The status of GET /me with a client's credential: who it is, or why not. */
    meStatus: async (client: NimbusClient): Promise<number> =>
      (await client.GET('/me')).response.status,
    login: (email: string, password = SDK_PASSWORD) =>
      sdkFor(app()).POST('/auth/login', { body: { email, password } }),
    refresh: (token: string) =>
      sdkFor(app()).POST('/auth/refresh', { body: { refresh_token: token } }),
  };
}

/**
 * The `action:status` of the audit rows of a resource, once they include `expected` (the audit
 * log is a projection: polled until it has them, or for 20 s).
 */
export async function auditedActions(
  client: NimbusClient,
  resource: string,
  expected: string[],
): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = itemsOf(
      unwrap(await client.GET('/audit', { params: { query: { resource, limit: 200 } } })),
    );
    const actions = rows.map((r) => `${r.action}:${r.status}`);
    if (expected.every((a) => actions.includes(a)) || Date.now() > deadline) return actions;
    await new Promise((r) => setTimeout(r, 100));
  }
}
