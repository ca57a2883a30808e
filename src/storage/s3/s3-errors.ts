/**
 * S3's errors: a code from S3's own list, its HTTP status, and the XML body S3 clients parse
 * (`<Error><Code>...</Code><Message>...</Message><Resource>...</Resource><RequestId>...`).
 * Errors of the storage use cases (AppError codes) are translated by `s3ErrorOf`.
 */
import { AppError } from '../../common/errors/app-error';
import { xmlEscape } from './s3-xml';

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchLifecycleConfiguration: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
  QuotaExceeded: 403,
};

export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code] ?? 400;
  }
}

export function errorXml(error: S3Error, resource: string, requestId: string): string {
  const extra = Object.entries(error.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId>${extra}</Error>`
  );
}

/** An error of the storage use cases (or anything else) as S3 names it. */
export function s3ErrorOf(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof AppError) {
    const details = err.details ?? {};
    const map: Record<string, string> = {
      bucket_already_exists: 'BucketAlreadyExists',
      bucket_already_owned_by_you: 'BucketAlreadyOwnedByYou',
      bucket_not_empty: 'BucketNotEmpty',
      invalid_part: 'InvalidPart',
      invalid_part_order: 'InvalidPartOrder',
      entity_too_small: 'EntityTooSmall',
      payload_too_large: 'EntityTooLarge',
      range_not_satisfiable: 'InvalidRange',
      precondition_failed: 'PreconditionFailed',
      forbidden: 'AccessDenied',
      unauthorized: 'AccessDenied',
      quota_exceeded: 'QuotaExceeded',
      validation_error: 'InvalidArgument',
    };
    if (err.code === 'not_found') {
      const resource = details.resource;
      const code =
        resource === 'bucket'
          ? 'NoSuchBucket'
          : resource === 'multipart_upload'
            ? 'NoSuchUpload'
            : resource === 'object_version'
              ? 'NoSuchVersion'
              : 'NoSuchKey';
      return new S3Error(code, err.message);
    }
    const code = map[err.code];
    if (code) return new S3Error(code, err.message);
    if (err.status >= 500) return new S3Error('InternalError', err.message);
    return new S3Error('InvalidRequest', err.message);
  }
  return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
}
