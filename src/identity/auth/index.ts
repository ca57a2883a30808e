/** What other bounded contexts use to declare access on their routes. */
export {
  Authenticated,
  AuthRateLimited,
  CurrentAuth,
  OperatorOnly,
  Public,
  RequireAction,
  RequireUserSession,
  TenantFromParam,
  requireTenantUser,
  type RequireActionOptions,
  type ResourceSpec,
} from './decorators';
export { IAM_ACTIONS } from '../domain/iam-actions';
export { declaredAccessOfRoutes, type RouteAccess } from './route-access';
