import { RequireAction } from '../../identity/auth/decorators';

/** The IAM action of a compute route (declared in IAM_ACTIONS with its description). */
export function ComputeAction(
  action: string,
  description: string,
  resource?: { type: string; param?: string },
): MethodDecorator {
  return RequireAction(action, { description, ...(resource ? { resource } : {}) });
}
