import { Readable } from 'node:stream';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AppError } from '../../common/errors/app-error';
import { RequireAction } from '../../identity/auth/decorators';
import type { ByteRange } from '../ports/blob-store';
import type { ObjectRow } from '../application/views';

/**
 * The IAM action of a storage route (declared in IAM_ACTIONS with its description); its resource
 * ARN is `arn:nimbus:storage:<tenant>:bucket/<name>`.
 */
export function StorageAction(
  action: string,
  description: string,
  param?: string,
): MethodDecorator {
  return RequireAction(action, {
    description,
    resource: { type: 'bucket', service: 'storage', ...(param ? { param } : {}) },
  });
}

/** The object key: the rest of the path after the bucket (`*` of the route). */
export const ObjectKey = createParamDecorator((_data: unknown, host: ExecutionContext): string => {
  const params = host.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
  const key = params['*'] ?? '';
  if (key === '') {
    throw AppError.validation('an object key is required after the bucket', [
      { path: 'key', message: 'is required' },
    ]);
  }
  return key;
});

/** The request body of an object upload as a stream (JSON bodies arrive as their bytes). */
export function bodyStream(request: FastifyRequest): Readable {
  const body = request.body;
  if (body instanceof Readable) return body;
  if (Buffer.isBuffer(body)) return Readable.from([body]);
  if (body === undefined || body === null) return Readable.from([]);
  throw new AppError('unsupported_media_type', 'the object body could not be read as bytes');
}

export function contentTypeOf(request: FastifyRequest): string {
  const type = request.headers['content-type'];
  return typeof type === 'string' && type.length > 0 && type.length <= 255
    ? type
    : 'application/octet-stream';
}

/**
 * The single range of a `Range: bytes=` header over an object of `size` bytes; null without a
 * header (or with one this server ignores, as HTTP allows: several ranges). 416
 * `range_not_satisfiable` when it starts beyond the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  const unsatisfiable = () =>
    new AppError(
      'range_not_satisfiable',
      `the range ${header} does not overlap the object (${size} bytes)`,
      { size_bytes: size },
      { 'content-range': `bytes */${size}` },
    );
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable();
  return { start, end };
}

/** Headers describing a stored version (GET and HEAD). */
export function objectHeaders(reply: FastifyReply, row: ObjectRow): void {
  void reply.headers({
    'content-type': row.content_type ?? 'application/octet-stream',
    etag: `"${row.etag ?? ''}"`,
    'last-modified': row.created_at.toUTCString(),
    'accept-ranges': 'bytes',
    'x-checksum-sha256': row.sha256 ?? '',
    'x-version-id': row.version_id,
  });
}
