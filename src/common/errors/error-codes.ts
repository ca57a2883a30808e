/**
 * The stable error codes of the API. Adding a code means deciding its status and documenting
 * it here; `httpStatusOf` will not compile until the switch covers it.
 */
export const ERROR_CODES = [
  'validation_error',
  'malformed_json',
  'payload_too_large',
  'uri_too_long',
  'headers_too_large',
  'request_timeout',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'not_found',
  'route_not_found',
  'method_not_allowed',
  'conflict',
  'ambiguous_image',
  'email_taken',
  'invalid_state',
  'dependency_violation',
  'concurrency_conflict',
  'bucket_already_exists',
  'bucket_already_owned_by_you',
  'bucket_not_empty',
  'invalid_part',
  'invalid_part_order',
  'entity_too_small',
  'range_not_satisfiable',
  'precondition_failed',
  'idempotency_key_reused',
  'quota_exceeded',
  'rate_limited',
  'sign_in_throttled',
  'internal_error',
  'service_unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'validation_error':
    case 'malformed_json':
    case 'invalid_part':
    case 'invalid_part_order':
    case 'entity_too_small':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
    case 'quota_exceeded':
      return 403;
    case 'not_found':
    case 'route_not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'conflict':
    case 'ambiguous_image':
    case 'email_taken':
    case 'invalid_state':
    case 'dependency_violation':
    case 'concurrency_conflict':
    case 'bucket_already_exists':
    case 'bucket_already_owned_by_you':
    case 'bucket_not_empty':
      return 409;
    case 'range_not_satisfiable':
      return 416;
    case 'precondition_failed':
      return 412;
    case 'payload_too_large':
      return 413;
    case 'uri_too_long':
      return 414;
    case 'headers_too_large':
      return 431;
    case 'request_timeout':
      return 408;
    case 'unsupported_media_type':
      return 415;
    case 'idempotency_key_reused':
      return 422;
    case 'sign_in_throttled':
    case 'rate_limited':
      return 429;
    case 'internal_error':
      return 500;
    case 'service_unavailable':
      return 503;
    default:
      return assertUnreachable(code);
  }
}

export const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  validation_error:
    'The request body, query or path failed validation; details.fields names each offending field path.',
  malformed_json: 'The request body is not valid JSON.',
  payload_too_large: 'The request body exceeds the size limit.',
  uri_too_long: 'A segment of the request path is longer than the router accepts (100 characters).',
  headers_too_large:
    'The request headers exceed the size the server accepts (16 KiB in total); the connection is closed.',
  request_timeout: 'The request was not received completely in time; the connection is closed.',
  unsupported_media_type: 'The request body has a content type this route does not accept.',
  unauthorized: 'No valid credential (JWT or API key) was presented.',
  forbidden: 'The caller is authenticated but not allowed to perform this action.',
  not_found: 'The resource does not exist or is not visible to the caller.',
  route_not_found: 'No route matches the request path.',
  method_not_allowed: 'The route exists but not for this HTTP method.',
  conflict:
    'The request conflicts with existing state (for example a name or port already in use).',
  ambiguous_image:
    'The image name matches public images of several other tenants; details.candidates lists their ids: launch by id.',
  email_taken: 'An account with this email already exists.',
  invalid_state: 'The resource is not in a state that allows this action.',
  dependency_violation: 'Other resources still depend on this one; remove them first.',
  concurrency_conflict: 'The resource changed concurrently; retry the request.',
  bucket_already_exists:
    'The bucket name is taken by another tenant (bucket names are unique across tenants); choose another name.',
  bucket_already_owned_by_you: 'The bucket name is already one of your buckets.',
  bucket_not_empty:
    'The bucket still holds objects (or versions, or multipart uploads); delete them or pass ?force=true.',
  invalid_part:
    'A part named in the completion was not uploaded, or its ETag does not match the uploaded part.',
  invalid_part_order:
    'The parts of a multipart completion must be listed in ascending part number.',
  entity_too_small: 'A part other than the last is smaller than the minimum part size (5 MiB).',
  range_not_satisfiable:
    'The Range header does not overlap the object; Content-Range names its size.',
  precondition_failed: "If-Match did not match the resource's current ETag.",
  idempotency_key_reused: 'The Idempotency-Key was already used with a different request.',
  quota_exceeded:
    "The tenant's quota does not allow this; details carry the limit and current use.",
  rate_limited: 'Too many requests; retry after the number of seconds in Retry-After.',
  sign_in_throttled:
    'Too many failed sign-in attempts for this account from this address (or from many addresses); retry after the number of seconds in Retry-After.',
  internal_error: 'An unexpected error occurred; the request id identifies it in the logs.',
  service_unavailable: 'A dependency the request needs is unavailable.',
};

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}
