/**
 * How a route declares who may call it. The identity module's global guard (auth.guard.ts) reads
 * these; a route without any of them requires a valid credential and a tenant, and no IAM action.
 *
 *   @Public()                              no credential (sign-up, health)
 *   @Authenticated()                       any signed-in caller, no IAM action (GET /me)
 *   @AuthRateLimited()                     5/min per IP (NIMBUS_AUTH_RATE_LIMIT), with headers
 *   @RequireAction('compute:terminate', {  IAM: role defaults + attached policies, 403 when denied
 *     description: 'Terminate an instance',         (declares the action in IAM_ACTIONS)
 *     resource: { type: 'instance', param: 'id' },  ARN arn:nimbus:compute:<tenant>:instance/<:id>
 *   })
 *   @RequireUserSession()                  a JWT, or an API key of a tenant owner/admin
 *   @TenantFromParam('id')                 the tenant is the path parameter (member, else 404)
 *   @OperatorOnly()                        platform operators (NIMBUS_OPERATORS)
 *   @CurrentAuth() auth: AuthContext       the caller, in a handler
 */
import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiSecurity } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../common/auth-context';
import { AppError } from '../../common/errors/app-error';
import { ApiErrors } from '../../common/errors/error-envelope';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../../platform/openapi';
import { IAM_ACTIONS } from '../domain/iam-actions';

export const AUTH_RATE_LIMITED = 'nimbus:auth:rate-limited';
export const REQUIRED_ACTION = 'nimbus:auth:action';
export const USER_SESSION_REQUIRED = 'nimbus:auth:user-session';
export const TENANT_PARAM = 'nimbus:auth:tenant-param';
export const OPERATOR_ONLY = 'nimbus:auth:operator';
export const AUTHENTICATED_ONLY = 'nimbus:auth:authenticated';
export const ANONYMOUS_ALLOWED = 'nimbus:auth:anonymous-allowed';

export { Public, PUBLIC_ROUTE } from '../../common/public-route';

/**
 * Any authenticated caller, no IAM action (for routes about the caller themselves, such as
 * GET /me). Declaring it keeps the route out of the start-up list of undeclared routes.
 */
export const Authenticated = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(AUTHENTICATED_ONLY, true),
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiErrors('unauthorized', 'rate_limited'),
  );

/**
 * A request without any credential (no Authorization, no X-API-Key) passes the guard with no
 * `request.auth`, and the handler decides what an anonymous caller may see (objects of public
 * buckets); a request with one is authenticated and authorized as usual.
 */
export const AnonymousAllowed = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ANONYMOUS_ALLOWED, true);

/** The per-IP limit of the /auth endpoints: 429 rate_limited with Retry-After and X-RateLimit-*. */
export const AuthRateLimited = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(AUTH_RATE_LIMITED, true), ApiErrors('rate_limited'));

export interface ResourceSpec {
  /** The resource type in the ARN: `instance`, `policy`, `key`... */
  type: string;
  /** The path parameter holding the resource id; absent: the collection (`<type>/*`). */
  param?: string;
  /** The ARN's service segment; defaults to the action's service. */
  service?: string;
}

export interface RequiredAction {
  action: string;
  resource?: ResourceSpec;
}

export interface RequireActionOptions {
  /** Declares the action in IAM_ACTIONS (needed unless it is declared elsewhere already). */
  description?: string;
  resource?: ResourceSpec;
}

/**
 * The IAM action a route performs. The guard evaluates it for the caller's role in the tenant and
 * the policies attached to them, against the resource's ARN; a denial is 403 `forbidden`.
 */
export function RequireAction(
  action: string,
  options: RequireActionOptions = {},
): MethodDecorator & ClassDecorator {
  if (options.description) IAM_ACTIONS.declare([{ action, description: options.description }]);
  else if (!IAM_ACTIONS.has(action)) {
    throw new Error(
      `IAM action ${action} is not declared: pass { description } to @RequireAction or call IAM_ACTIONS.declare first`,
    );
  }
  const required: RequiredAction = { action, resource: options.resource };
  return applyDecorators(
    SetMetadata(REQUIRED_ACTION, required),
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiHeader({
      name: 'X-Tenant-ID',
      required: false,
      description:
        "With a JWT: the tenant to act in (default: the user's default tenant); a tenant the user is not a member of is 404 not_found.",
    }),
    ApiErrors('unauthorized', 'forbidden', 'not_found', 'rate_limited'),
  );
}

/** Tenant and key management: a JWT, or an API key whose user is an owner or admin of its tenant. */
export const RequireUserSession = (): MethodDecorator & ClassDecorator =>
  SetMetadata(USER_SESSION_REQUIRED, true);

/** The route acts on the tenant named by this path parameter instead of X-Tenant-ID. */
export const TenantFromParam = (param: string): MethodDecorator & ClassDecorator =>
  SetMetadata(TENANT_PARAM, param);

/** Platform operators only (NIMBUS_OPERATORS); everyone else gets 403. */
export const OperatorOnly = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(OPERATOR_ONLY, true),
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiErrors('unauthorized', 'forbidden'),
  );

/** The authenticated caller (the guard has set it on every non-public route). */
export const CurrentAuth = createParamDecorator((_data: unknown, host: ExecutionContext) => {
  const auth = host.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new AppError('unauthorized', 'authentication required');
  return auth;
});

/** A caller with a user and a tenant (every route but the public ones has both). */
export function requireTenantUser(auth: AuthContext): { userId: string; tenantId: string } {
  if (!auth.userId || !auth.tenantId) {
    throw new AppError('forbidden', 'this route needs a user acting in a tenant');
  }
  return { userId: auth.userId, tenantId: auth.tenantId };
}
