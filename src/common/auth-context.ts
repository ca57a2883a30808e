import type { Actor } from '../kernel/command-context';

/**
 * Who is calling, as the identity module's auth guard resolves it. The guard sets
 * `request.auth`; everything downstream (command context, idempotency scope, logs) reads it.
 */
export interface AuthContext {
  actor: Actor;
  /** The tenant the request acts in (X-Tenant-ID for a JWT, the key's tenant for an API key). */
  tenantId: string | null;
  /** The human behind the request: the JWT's subject or the API key's owner. */
  userId: string | null;
  roles: string[];
  /** Set when the caller authenticated with an API key. */
  apiKeyId?: string;
}

/** The actor of a request nobody authenticated (health probes, sign-up, sign-in). */
export const ANONYMOUS_ACTOR: Actor = Object.freeze({ type: 'system', id: 'anonymous' });

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard; absent on unauthenticated routes. */
    auth?: AuthContext;
  }
}
