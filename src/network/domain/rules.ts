/**
 * Validation and rejections shared by the networking deciders. Pure.
 */
import { AppError } from '../../common/errors/app-error';

export interface FieldProblem {
  path: string;
  message: string;
}

/** 400 validation_error naming every problem; a no-op for an empty list. */
export function throwIfInvalid(problems: FieldProblem[]): void {
  if (problems.length === 0) return;
  throw AppError.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
}

export function problemAt(path: string, message: string | null): FieldProblem[] {
  return message === null ? [] : [{ path, message }];
}

export const NAME_MAX_LENGTH = 255;

/** Names of networking resources: 1..255 printable characters, not only spaces. */
export function nameProblems(value: unknown, path = 'name'): FieldProblem[] {
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (value.trim().length === 0) return [{ path, message: 'must not be empty' }];
  if (value.length > NAME_MAX_LENGTH) {
    return [{ path, message: `must be at most ${NAME_MAX_LENGTH} characters` }];
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return [{ path, message: 'must not contain control characters' }];
  }
  return [];
}

export function notFound(resource: string, id?: string | null): AppError {
  return new AppError('not_found', `${resource.replace(/_/g, ' ')} not found`, {
    resource,
    ...(id ? { id } : {}),
  });
}

/** 409 invalid_state: the action is not allowed in the resource's current status. */
export function notAllowedIn(
  resource: string,
  status: string,
  action: string,
  allowed: readonly string[],
): AppError {
  return AppError.invalidState(
    `${resource.replace(/_/g, ' ')} is ${status}; ${action} needs ${allowed.join(' or ')}`,
    { resource, status, action, allowed },
  );
}

/** 409 dependency_violation naming what still depends on the resource. */
export function dependencyViolation(
  message: string,
  dependents: Record<string, readonly string[]>,
): AppError {
  return new AppError('dependency_violation', message, { dependents });
}

/** `a (1), b (2)` for messages: what depends, by kind. */
export function describeDependents(dependents: Record<string, readonly string[]>): string {
  return Object.entries(dependents)
    .filter(([, ids]) => ids.length > 0)
    .map(([kind, ids]) => `${ids.length} ${kind.replace(/_/g, ' ')} (${ids.join(', ')})`)
    .join(', ');
}

export function hasDependents(dependents: Record<string, readonly string[]>): boolean {
  return Object.values(dependents).some((ids) => ids.length > 0);
}
