/**
 * Bucket naming rules (those of S3, so the same names work on the S3-compatible endpoint):
 * 3 to 63 characters; lower-case letters, digits, dots and hyphens; starting and ending with a
 * letter or digit; no two adjacent dots; not shaped like an IPv4 address; not starting with
 * `xn--`, `sthree-` or `amzn-s3-demo-`, not ending with `-s3alias`, `--ol-s3` or `.mrap`.
 * The names of the native API's own routes under `/storage/` are reserved as well.
 */
import type { FieldProblem } from '../../compute/domain/validation';

/** First path segments of the native API that are not buckets (`/storage/buckets`, ...). */
export const RESERVED_BUCKET_NAMES: readonly string[] = [
  'buckets',
  'versions',
  'multipart',
  'presign',
  'presigned',
  'cluster',
  'access-keys',
];

const FORBIDDEN_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const FORBIDDEN_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3'];

export function bucketNameProblems(value: unknown, path = 'name'): FieldProblem[] {
  const problem = (message: string): FieldProblem[] => [{ path, message }];
  if (typeof value !== 'string') return problem('must be a string');
  if (value.length < 3 || value.length > 63) return problem('must be 3 to 63 characters long');
  if (!/^[a-z0-9.-]+$/.test(value)) {
    return problem('may contain only lower-case letters, digits, dots (.) and hyphens (-)');
  }
  if (!/^[a-z0-9]/.test(value) || !/[a-z0-9]$/.test(value)) {
    return problem('must start and end with a letter or digit');
  }
  if (value.includes('..')) return problem('must not contain two adjacent dots');
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(value)) {
    return problem('must not be formatted as an IP address');
  }
  const prefix = FORBIDDEN_PREFIXES.find((p) => value.startsWith(p));
  if (prefix) return problem(`must not start with "${prefix}"`);
  const suffix = FORBIDDEN_SUFFIXES.find((s) => value.endsWith(s));
  if (suffix) return problem(`must not end with "${suffix}"`);
  if (RESERVED_BUCKET_NAMES.includes(value)) {
    return problem(`"${value}" is reserved (a route of the storage API)`);
  }
  return [];
}

/** Object keys: 1 to 1024 bytes of UTF-8, no NUL or other C0 control characters. */
export function objectKeyProblems(value: unknown, path = 'key'): FieldProblem[] {
  if (typeof value !== 'string' || value.length === 0) return [{ path, message: 'is required' }];
  if (Buffer.byteLength(value, 'utf8') > 1024) {
    return [{ path, message: 'must be at most 1024 bytes (UTF-8)' }];
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return [{ path, message: 'must not contain control characters' }];
  }
  return [];
}
