import { httpStatusOf, type ErrorCode } from './error-codes';

/**
 * The one error type the application throws on purpose. The HTTP layer renders it as
 * `{"error": {"code", "message", "details", "request_id"}}` with the code's status.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return httpStatusOf(this.code);
  }

  static notFound(kind: string, id: string): AppError {
    return new AppError('not_found', `${kind} ${id} not found`, { resource: kind, id });
  }

  static invalidState(message: string, details?: Record<string, unknown>): AppError {
    return new AppError('invalid_state', message, details);
  }

  static validation(message: string, fields: Array<{ path: string; message: string }>): AppError {
    return new AppError('validation_error', message, { fields });
  }
}
