/** What other bounded contexts use to declare access on their routes. */
export {
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
