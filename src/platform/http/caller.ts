import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';

/**
 * The tenant the caller acts in, as the auth guard resolved it (the API key's tenant, a JWT's
 * X-Tenant-ID or default tenant, or the path's tenant under `@TenantFromParam`): 401 without
 * credentials, 403 when the caller acts in no tenant. Outside a handler (an interceptor), the
 * same rule as a function.
 */
export function callerTenantOf(request: FastifyRequest): string {
  const auth = request.auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  if (!auth.tenantId) throw new AppError('forbidden', 'this route needs a tenant to act in');
  return auth.tenantId;
}

/**
 * The one way a handler gets the caller's tenant:
 *
 *   list(@CallerTenant() tenantId: string) { return this.queries.vpcs(tenantId, ...); }
 *
 * Use cases get it from their command context instead (`tenantOf(ctx)`), which `@Ctx()` fills
 * from the same place.
 */
export const CallerTenant = createParamDecorator((_data: unknown, host: ExecutionContext): string =>
  callerTenantOf(host.switchToHttp().getRequest<FastifyRequest>()),
);

/**
 * The caller's tenant, or null for an anonymous caller, on routes that also serve anonymous
 * readers (`@AnonymousAllowed()`: a public bucket); a caller with credentials but no tenant is 403.
 */
export const CallerTenantOrAnonymous = createParamDecorator(
  (_data: unknown, host: ExecutionContext): string | null => {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    return request.auth ? callerTenantOf(request) : null;
  },
);

/** The person behind the credential (data-subject routes): 401 without one, 403 without a user. */
export const CallerUser = createParamDecorator((_data: unknown, host: ExecutionContext): string => {
  const auth = host.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  if (!auth.userId) throw new AppError('forbidden', 'this route needs a user');
  return auth.userId;
});
