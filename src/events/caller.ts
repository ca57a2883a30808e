import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../common/auth-context';
import { AppError } from '../common/errors/app-error';

/** The authenticated caller acting in a tenant, as the auth guard left it on the request. */
export interface TenantCaller {
  auth: AuthContext;
  tenantId: string;
  userId: string | null;
}

/** The caller and their tenant; 401 without credentials, 403 without a tenant. */
export function tenantCallerOf(request: FastifyRequest): TenantCaller {
  const auth = request.auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  if (!auth.tenantId) throw new AppError('forbidden', 'this route needs a tenant to act in');
  return { auth, tenantId: auth.tenantId, userId: auth.userId };
}

/** The authenticated person (DSAR routes): 401 without a user behind the credential. */
export function userCallerOf(request: FastifyRequest): { auth: AuthContext; userId: string } {
  const auth = request.auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  if (!auth.userId) throw new AppError('forbidden', 'this route needs a user');
  return { auth, userId: auth.userId };
}
