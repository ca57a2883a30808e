import { RequireAction } from '../../identity/auth/decorators';

/**
 * The IAM action of a networking route (declared in IAM_ACTIONS with its description); its
 * resource ARN is `arn:nimbus:vpc:<tenant>:<type>/<id>`.
 */
export function NetworkAction(
  action: string,
  description: string,
  resource?: { type: string; param?: string },
): MethodDecorator {
  return RequireAction(action, {
    description,
    ...(resource ? { resource: { ...resource, service: 'vpc' } } : {}),
  });
}
