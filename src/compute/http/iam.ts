import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';
import { RequireAction } from '../../identity/auth/decorators';

/** The IAM action of a compute route (declared in IAM_ACTIONS with its description). */
export function ComputeAction(
  action: string,
  description: string,
  resource?: { type: string; param?: string },
): MethodDecorator {
  return RequireAction(action, { description, ...(resource ? { resource } : {}) });
}

/** The caller's tenant (the auth guard has set `request.auth` on every non-public route). */
export const TenantId = createParamDecorator((_data: unknown, host: ExecutionContext): string => {
  const auth = host.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  if (!auth.tenantId) throw new AppError('forbidden', 'this route needs a tenant');
  return auth.tenantId;
});
