import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';

export interface FieldError {
  path: string;
  message: string;
}

/** Flattens class-validator's error tree into one entry per field with its full path. */
export function fieldErrorsOf(errors: readonly ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) out.push({ path, message: messages.join('; ') });
    if (error.children && error.children.length > 0)
      out.push(...fieldErrorsOf(error.children, path));
  }
  return out;
}

export function validationErrorOf(errors: readonly ValidationError[]): AppError {
  const fields = fieldErrorsOf(errors);
  const summary =
    fields.length === 1
      ? `${fields[0].path}: ${fields[0].message}`
      : `${fields.length} fields are invalid: ${fields.map((f) => f.path).join(', ')}`;
  return AppError.validation(summary, fields);
}

/** Whitelisting, unknown-field rejection and transformation for every DTO, errors as AppError. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationErrorOf(errors),
  });
}
