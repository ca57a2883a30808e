/**
 * The typed Nimbus SDK: an openapi-fetch client over the types generated from the committed
 * document (src/sdk/api-types.ts, `npm run sdk:generate`). Paths, parameters, bodies and
 * responses are checked by the compiler:
 *
 *   const nimbus = createNimbusClient({ endpoint: 'http://127.0.0.1:8080', apiKey });
 *   const instance = unwrap(await nimbus.POST('/instances', { body: { name: 'web-01', image: 'busybox', instance_type: 'basic-2' } }));
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './api-types';

export type { components, operations, paths };
/** Every schema of the document by name: `Schemas['Instance']`. */
export type Schemas = components['schemas'];
export type NimbusClient = Client<paths>;

export interface NimbusClientOptions {
  /** `http://127.0.0.1:8080` */
  endpoint: string;
  /** An API key (`X-API-Key`). */
  apiKey?: string;
  /** A JWT access token (`Authorization: Bearer`). */
  token?: string;
  /** With a JWT: the tenant to act in. */
  tenantId?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export function createNimbusClient(options: NimbusClientOptions): NimbusClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers['X-API-Key'] = options.apiKey;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.tenantId) headers['X-Tenant-ID'] = options.tenantId;
  return createClient<paths>({ baseUrl: options.endpoint.replace(/\/+$/, ''), headers });
}

/** A call the API refused: the error envelope's code, message and details, and the status. */
export class NimbusApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'NimbusApiError';
  }
}

function envelopeOf(error: unknown): Schemas['ErrorEnvelope']['error'] | undefined {
  if (typeof error !== 'object' || error === null || !('error' in error)) return undefined;
  const inner = error.error;
  if (typeof inner !== 'object' || inner === null || !('code' in inner)) return undefined;
  return inner as Schemas['ErrorEnvelope']['error'];
}

/** The body of a successful call; a failed one throws NimbusApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  const envelope = envelopeOf(result.error);
  throw new NimbusApiError(
    result.response.status,
    envelope?.code ?? 'http_error',
    envelope?.message ?? `HTTP ${result.response.status}`,
    envelope?.details ?? {},
    envelope?.request_id ?? null,
  );
}

/** The items of a list body, bare array or `{ items, page }` envelope. */
export function itemsOf<T>(body: T[] | { items: T[] }): T[] {
  return Array.isArray(body) ? body : body.items;
}
