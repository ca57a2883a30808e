import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppError } from './errors/app-error';
import { ERROR_ENVELOPE_SCHEMA_NAME } from './errors/error-envelope';

/** The weak ETag of a resource at `revision` (the stream revision its read model carries). */
export function etagOf(revision: bigint | number | string): string {
  return `W/"${String(revision)}"`;
}

/** Sets `ETag: W/"<revision>"` on a single-resource response. */
export function setEtag(reply: FastifyReply, revision: bigint | number | string): void {
  void reply.header('etag', etagOf(revision));
}

/**
 * Parses `If-Match: W/"<n>"` (or `"<n>"`) into the revision the caller last saw. Absent or `*`
 * means no precondition. Anything else is a 400; a revision that no longer matches is the
 * CommandExecutor's 412 `precondition_failed`.
 */
export function parseIfMatch(header: string | undefined): bigint | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  const m = /^(?:W\/)?"(\d{1,19})"$/.exec(value);
  if (!m) {
    throw AppError.validation('If-Match must be an ETag of the form W/"<revision>"', [
      { path: 'headers.if-match', message: 'must be an ETag of the form W/"<revision>"' },
    ]);
  }
  return BigInt(m[1]);
}

/** OpenAPI: the route honours If-Match and answers 412 when the resource moved on. */
export function ApiIfMatch(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description:
        'The ETag (W/"<revision>") the client last saw; when the resource has changed since, the request fails with 412 precondition_failed and changes nothing.',
    }),
    ApiResponse({
      status: 412,
      description: 'precondition_failed',
      schema: { $ref: `#/components/schemas/${ERROR_ENVELOPE_SCHEMA_NAME}` },
    }),
  );
}
