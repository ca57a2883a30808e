/**
 * The IAM policy aggregate (stream `policy-<policyId>`): a named, tenant-scoped list of statements
 * `{effect: Allow|Deny, action: [...], resource: [...]}` and the users it is attached to.
 *
 * Attachments live on the policy's stream, not on a per-user stream: deleting a policy and
 * attaching it then race on one stream (one expected revision), so a policy can never be deleted
 * while an attachment is being added; and `DeletePolicy {force: true}` detaches everyone and
 * deletes in a single append. The "policies of a user" read model (GET /iam/users/:id/policies and
 * the guard) is a projection of PolicyAttachedToUser / PolicyDetachedFromUser / PolicyDeleted.
 *
 * Rules: statements are validated with the path of each bad part (`statements[1].action[0]`);
 * attaching twice is a no-op; detaching a policy that is not attached is `not_found`; deleting a
 * policy that is still attached is `dependency_violation` unless forced; a deleted policy is
 * `not_found` for everything. Name uniqueness per tenant, and that the user belongs to the policy's
 * tenant, are checked by the handler from the read models. Policies are immutable once created
 * (a new version is a new policy), which keeps the audit trail of "who could do what" simple.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { ACTION_FORMAT, RESOURCE_FORMAT, isActionPattern, isResourcePattern } from './iam-patterns';
import { iso, throwIfInvalid, type FieldProblem } from './validation';

export const POLICY_CATEGORY = 'policy';
export const MAX_STATEMENTS = 50;
export const MAX_ENTRIES_PER_LIST = 100;
export const POLICY_NAME_RULE = '1 to 128 characters of letters, digits and + = , . @ _ -';
const POLICY_NAME_RE = /^[A-Za-z0-9+=,.@_-]{1,128}$/;
const DESCRIPTION_MAX_LENGTH = 1000;

export type PolicyEffect = 'Allow' | 'Deny';

export interface PolicyStatement {
  effect: PolicyEffect;
  action: string[];
  resource: string[];
}

export interface CreatePolicy {
  type: 'CreatePolicy';
  policyId: string;
  tenantId: string;
  name: string;
  description?: string | null;
  /** As received: decide validates its shape (unknown fields included). */
  statements: unknown;
  now: Date;
}

export interface DeletePolicy {
  type: 'DeletePolicy';
  /** Detach from every user in the same append instead of refusing. */
  force?: boolean;
  now: Date;
}

export interface AttachPolicyToUser {
  type: 'AttachPolicyToUser';
  userId: string;
  now: Date;
}

export interface DetachPolicyFromUser {
  type: 'DetachPolicyFromUser';
  userId: string;
  now: Date;
}

export type PolicyCommand = CreatePolicy | DeletePolicy | AttachPolicyToUser | DetachPolicyFromUser;

export type PolicyEvent =
  | {
      type: 'PolicyCreated';
      data: {
        policyId: string;
        tenantId: string;
        name: string;
        description: string | null;
        statements: PolicyStatement[];
        createdAt: string;
      };
    }
  | { type: 'PolicyDeleted'; data: { policyId: string; tenantId: string; at: string } }
  | {
      type: 'PolicyAttachedToUser';
      data: { policyId: string; tenantId: string; userId: string; at: string };
    }
  | {
      type: 'PolicyDetachedFromUser';
      data: { policyId: string; tenantId: string; userId: string; at: string };
    };

export interface PolicyState {
  status: 'none' | 'active' | 'deleted';
  policyId: string | null;
  tenantId: string | null;
  name: string | null;
  attachedUserIds: readonly string[];
}

export function initialPolicyState(): PolicyState {
  return { status: 'none', policyId: null, tenantId: null, name: null, attachedUserIds: [] };
}

export function evolvePolicy(state: PolicyState, event: PolicyEvent): PolicyState {
  switch (event.type) {
    case 'PolicyCreated':
      return {
        status: 'active',
        policyId: event.data.policyId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        attachedUserIds: [],
      };
    case 'PolicyDeleted':
      return { ...state, status: 'deleted', attachedUserIds: [] };
    case 'PolicyAttachedToUser':
      return { ...state, attachedUserIds: [...state.attachedUserIds, event.data.userId] };
    case 'PolicyDetachedFromUser':
      return {
        ...state,
        attachedUserIds: state.attachedUserIds.filter((id) => id !== event.data.userId),
      };
    default:
      return state;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPatternList(
  value: unknown,
  path: string,
  valid: (s: string) => boolean,
  format: string,
  problems: FieldProblem[],
): string[] {
  if (!Array.isArray(value)) {
    problems.push({ path, message: 'must be an array of strings' });
    return [];
  }
  if (value.length === 0) problems.push({ path, message: 'must not be empty' });
  if (value.length > MAX_ENTRIES_PER_LIST) {
    problems.push({ path, message: `must have at most ${MAX_ENTRIES_PER_LIST} entries` });
  }
  const out: string[] = [];
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || !valid(entry)) {
      problems.push({ path: `${path}[${i}]`, message: `must be ${format}` });
    } else {
      out.push(entry);
    }
  });
  return out;
}

/** Every problem of a statements document, with its path; empty when valid. */
export function policyStatementProblems(input: unknown, basePath = 'statements'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  parseStatements(input, basePath, problems);
  return problems;
}

function parseStatements(
  input: unknown,
  basePath: string,
  problems: FieldProblem[],
): PolicyStatement[] {
  if (!Array.isArray(input)) {
    problems.push({ path: basePath, message: 'must be an array of statements' });
    return [];
  }
  if (input.length === 0)
    problems.push({ path: basePath, message: 'must contain at least one statement' });
  if (input.length > MAX_STATEMENTS) {
    problems.push({ path: basePath, message: `must contain at most ${MAX_STATEMENTS} statements` });
  }
  const statements: PolicyStatement[] = [];
  input.forEach((raw: unknown, i) => {
    const path = `${basePath}[${i}]`;
    if (!isRecord(raw)) {
      problems.push({ path, message: 'must be an object with effect, action and resource' });
      return;
    }
    for (const key of Object.keys(raw)) {
      if (key !== 'effect' && key !== 'action' && key !== 'resource') {
        problems.push({
          path: `${path}.${key}`,
          message: 'is not a statement field (effect, action, resource)',
        });
      }
    }
    const effect = raw.effect;
    if (effect !== 'Allow' && effect !== 'Deny') {
      problems.push({ path: `${path}.effect`, message: 'must be "Allow" or "Deny"' });
    }
    const action = checkPatternList(
      raw.action,
      `${path}.action`,
      isActionPattern,
      ACTION_FORMAT,
      problems,
    );
    const resource = checkPatternList(
      raw.resource,
      `${path}.resource`,
      isResourcePattern,
      RESOURCE_FORMAT,
      problems,
    );
    if (effect === 'Allow' || effect === 'Deny') statements.push({ effect, action, resource });
  });
  return statements;
}

/** The statements, or 400 validation_error listing every bad part with its path. */
export function validatePolicyStatements(
  input: unknown,
  basePath = 'statements',
): PolicyStatement[] {
  const problems: FieldProblem[] = [];
  const statements = parseStatements(input, basePath, problems);
  throwIfInvalid(
    problems,
    problems.length === 1 ? undefined : `the policy has ${problems.length} problems`,
  );
  return statements;
}

function requireActive(state: PolicyState): { policyId: string; tenantId: string } {
  if (state.status !== 'active' || state.policyId === null || state.tenantId === null) {
    throw AppError.notFound('policy', state.policyId ?? 'unknown');
  }
  return { policyId: state.policyId, tenantId: state.tenantId };
}

function create(command: CreatePolicy, state: PolicyState): PolicyEvent[] {
  if (state.status !== 'none') {
    throw new AppError('conflict', `policy ${command.policyId} already exists`, {
      id: command.policyId,
    });
  }
  const problems: FieldProblem[] = [];
  if (typeof command.name !== 'string' || !POLICY_NAME_RE.test(command.name)) {
    problems.push({ path: 'name', message: `must be ${POLICY_NAME_RULE}` });
  }
  const description = command.description ?? null;
  if (
    description !== null &&
    (typeof description !== 'string' || description.length > DESCRIPTION_MAX_LENGTH)
  ) {
    problems.push({
      path: 'description',
      message: `must be a string of at most ${DESCRIPTION_MAX_LENGTH} characters`,
    });
  }
  const statements = parseStatements(command.statements, 'statements', problems);
  throwIfInvalid(
    problems,
    problems.length === 1 ? undefined : `the policy has ${problems.length} problems`,
  );
  return [
    {
      type: 'PolicyCreated',
      data: {
        policyId: command.policyId,
        tenantId: command.tenantId,
        name: command.name,
        description,
        statements,
        createdAt: iso(command.now),
      },
    },
  ];
}

function decidePolicy(command: PolicyCommand, state: PolicyState): PolicyEvent[] {
  switch (command.type) {
    case 'CreatePolicy':
      return create(command, state);
    case 'DeletePolicy': {
      const { policyId, tenantId } = requireActive(state);
      const at = iso(command.now);
      if (state.attachedUserIds.length > 0 && !command.force) {
        throw new AppError(
          'dependency_violation',
          `policy ${policyId} is attached to ${state.attachedUserIds.length} user(s); detach it first`,
          { attached_user_ids: [...state.attachedUserIds] },
        );
      }
      return [
        ...state.attachedUserIds.map((userId): PolicyEvent => ({
          type: 'PolicyDetachedFromUser',
          data: { policyId, tenantId, userId, at },
        })),
        { type: 'PolicyDeleted', data: { policyId, tenantId, at } },
      ];
    }
    case 'AttachPolicyToUser': {
      const { policyId, tenantId } = requireActive(state);
      if (state.attachedUserIds.includes(command.userId)) return [];
      return [
        {
          type: 'PolicyAttachedToUser',
          data: { policyId, tenantId, userId: command.userId, at: iso(command.now) },
        },
      ];
    }
    case 'DetachPolicyFromUser': {
      const { policyId, tenantId } = requireActive(state);
      if (!state.attachedUserIds.includes(command.userId)) {
        throw new AppError(
          'not_found',
          `policy ${policyId} is not attached to user ${command.userId}`,
          {
            resource: 'policy attachment',
            id: `${policyId}/${command.userId}`,
          },
        );
      }
      return [
        {
          type: 'PolicyDetachedFromUser',
          data: { policyId, tenantId, userId: command.userId, at: iso(command.now) },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown policy command ${JSON.stringify(unknown)}`);
    }
  }
}

export const policyDecider: Decider<PolicyCommand, PolicyEvent, PolicyState> = {
  category: POLICY_CATEGORY,
  initialState: initialPolicyState,
  evolve: evolvePolicy,
  decide: decidePolicy,
};
