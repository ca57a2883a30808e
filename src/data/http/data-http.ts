import { RequireAction } from '../../identity/auth/decorators';

/**
 * The IAM action of a data route (declared in IAM_ACTIONS with its description); its resource ARN
 * is `arn:nimbus:data:<tenant>:<type>/<id>`. Connection details carry a password: their action is
 * `<type>:connect`, never a read-level `get`.
 */
export function DataAction(
  action: string,
  description: string,
  resource: { type: 'cache' | 'database' | 'database-snapshot'; param?: string },
): MethodDecorator {
  return RequireAction(action, { description, resource: { ...resource, service: 'data' } });
}
