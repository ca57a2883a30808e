import { AppError } from '../../common/errors/app-error';

/** Names of databases and caches: lower-case letters, digits and `-`, 1 to 63, starting with a letter. */
export const DATA_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

export function validateName(name: string): void {
  if (!DATA_NAME_RE.test(name)) {
    throw AppError.validation('name is not valid', [
      {
        path: 'name',
        message: 'name must be 1 to 63 lower-case letters, digits or "-", starting with a letter',
      },
    ]);
  }
}

export function invalidState(
  resource: 'database' | 'cache',
  id: string,
  status: string,
  action: string,
): AppError {
  return AppError.invalidState(`${resource} ${id} is ${status}; cannot ${action}`, {
    resource,
    id,
    status,
  });
}
