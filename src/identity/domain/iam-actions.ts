/**
 * The catalog of IAM actions: every controller route declares the action it performs, and
 * `GET /iam/actions` lists them. Modules declare theirs at load time:
 *
 *   IAM_ACTIONS.declare([{ action: 'compute:launch', description: 'Launch an instance' }]);
 *
 * Declaring the same action twice with the same description is harmless (modules may be loaded
 * twice in tests); with a different description it throws, so two routes cannot disagree about
 * what an action means. The access level is derived from the name and ROLE_DEFAULTS, so the
 * catalog always agrees with what viewers and members get.
 */
import { actionMatches, isConcreteAction } from './iam-patterns';
import { ADMINISTRATION_ACTIONS, READ_ACTIONS } from './policy-evaluation';

export type IamAccessLevel = 'read' | 'write' | 'administration';

export interface IamActionDeclaration {
  /** `service:name`, e.g. `storage:list`. */
  action: string;
  description: string;
}

export interface IamActionEntry extends IamActionDeclaration {
  service: string;
  access: IamAccessLevel;
}

export function accessLevelOf(action: string): IamAccessLevel {
  if (ADMINISTRATION_ACTIONS.some((p) => actionMatches(p, action))) return 'administration';
  if (READ_ACTIONS.some((p) => actionMatches(p, action))) return 'read';
  return 'write';
}

export class IamActionCatalog {
  private readonly entries = new Map<string, IamActionEntry>();

  declare(declarations: readonly IamActionDeclaration[]): void {
    for (const { action, description } of declarations) {
      if (!isConcreteAction(action)) {
        throw new Error(
          `IAM action "${action}" must look like "service:name" (letters and digits)`,
        );
      }
      if (description.trim().length === 0)
        throw new Error(`IAM action ${action} needs a description`);
      const existing = this.entries.get(action.toLowerCase());
      if (existing) {
        if (existing.description !== description || existing.action !== action) {
          throw new Error(`IAM action ${action} is already declared as "${existing.description}"`);
        }
        continue;
      }
      this.entries.set(action.toLowerCase(), {
        action,
        description,
        service: action.split(':')[0],
        access: accessLevelOf(action),
      });
    }
  }

  has(action: string): boolean {
    return this.entries.has(action.toLowerCase());
  }

  get(action: string): IamActionEntry | undefined {
    return this.entries.get(action.toLowerCase());
  }

  /** Sorted by action name. */
  list(): IamActionEntry[] {
    return [...this.entries.values()].sort((a, b) => a.action.localeCompare(b.action));
  }
}

/** Identity's own actions; other contexts add theirs with IAM_ACTIONS.declare. */
export const IDENTITY_IAM_ACTIONS: readonly IamActionDeclaration[] = [
  { action: 'apikey:list', description: "List the caller's API keys (never their secrets)" },
  { action: 'apikey:create', description: 'Create an API key bound to the current tenant' },
  {
    action: 'apikey:rotate',
    description: 'Replace the secret of an API key; the old key stops working at once',
  },
  { action: 'apikey:revoke', description: 'Revoke an API key' },
  { action: 'tenant:list', description: 'List the tenants the caller belongs to' },
  { action: 'tenant:create', description: 'Create a tenant; the caller becomes its owner' },
  { action: 'tenant:switch', description: "Make a tenant the caller's default" },
  {
    action: 'tenant:manageMembers',
    description: 'Add members to a tenant, change their roles, remove them',
  },
  { action: 'iam:listPolicies', description: "List the tenant's IAM policies" },
  { action: 'iam:getPolicy', description: 'Read one IAM policy' },
  { action: 'iam:createPolicy', description: 'Create an IAM policy' },
  { action: 'iam:deletePolicy', description: 'Delete an IAM policy' },
  { action: 'iam:attachUserPolicy', description: 'Attach an IAM policy to a user' },
  { action: 'iam:detachUserPolicy', description: 'Detach an IAM policy from a user' },
  { action: 'iam:listUserPolicies', description: 'List the IAM policies attached to a user' },
  { action: 'iam:listActions', description: 'List every IAM action the API declares' },
];

export const IAM_ACTIONS = new IamActionCatalog();
IAM_ACTIONS.declare(IDENTITY_IAM_ACTIONS);
