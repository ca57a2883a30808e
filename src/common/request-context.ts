import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../kernel/command-context';
import { ANONYMOUS_ACTOR } from './auth-context';
import { parseIfMatch } from './etag';
import { AppError } from './errors/app-error';
import { newId, uuidV5 } from './ids';

export const REQUEST_ID_HEADER = 'x-request-id';
export const CORRELATION_ID_HEADER = 'x-correlation-id';
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Visible ASCII and spaces, no control characters. */
const PRINTABLE = /^[\x20-\x7e]+$/;

/** A client-chosen identifier header (request id, correlation id): 1..128 printable characters. */
export function isValidRequestId(value: string): boolean {
  return value.length >= 1 && value.length <= 128 && PRINTABLE.test(value);
}

export function isValidIdempotencyKey(value: string): boolean {
  return value.length >= 1 && value.length <= 255 && PRINTABLE.test(value);
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request id Fastify assigned (the client's X-Request-ID when valid, else a new uuid). */
export function requestIdOf(request: FastifyRequest): string {
  return String(request.id);
}

/**
 * Whose Idempotency-Keys a request shares: the tenant when there is one, else the actor, else
 * (unauthenticated routes) the client address.
 */
export function idempotencyScopeOf(request: FastifyRequest): string {
  const auth = request.auth;
  if (auth?.tenantId) return `tenant:${auth.tenantId}`;
  if (auth && auth.actor.id !== ANONYMOUS_ACTOR.id) return `${auth.actor.type}:${auth.actor.id}`;
  return `ip:${request.ip}`;
}

/** The validated Idempotency-Key of a request, or undefined; a malformed one is a 400. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = headerValue(request, IDEMPOTENCY_KEY_HEADER);
  if (key === undefined) return undefined;
  if (!isValidIdempotencyKey(key)) {
    throw AppError.validation('Idempotency-Key must be 1 to 255 printable ASCII characters', [
      { path: 'headers.idempotency-key', message: 'must be 1 to 255 printable ASCII characters' },
    ]);
  }
  return key;
}

/**
 * The command context of an HTTP request. With an Idempotency-Key the command id is derived from
 * (scope, key), so a retried request produces the same event ids and cannot append twice.
 */
export function commandContextOf(request: FastifyRequest, now: Date = new Date()): CommandContext {
  const requestId = requestIdOf(request);
  const key = idempotencyKeyOf(request);
  const commandId = key ? uuidV5(`idempotency/${idempotencyScopeOf(request)}/${key}`) : newId();
  const correlation = headerValue(request, CORRELATION_ID_HEADER);
  const ifMatch = parseIfMatch(headerValue(request, 'if-match'));
  const context: CommandContext = {
    commandId,
    tenantId: request.auth?.tenantId ?? null,
    actor: request.auth?.actor ?? ANONYMOUS_ACTOR,
    requestId,
    sourceIp: request.ip ?? null,
    correlationId: correlation && isValidRequestId(correlation) ? correlation : requestId,
    causationId: null,
    now,
  };
  if (ifMatch !== undefined) context.ifMatch = ifMatch;
  return context;
}

/**
 * Handler parameter decorator: `@Ctx() ctx: CommandContext` gives the command context of the
 * current request (actor and tenant from the auth guard, request id, If-Match, command id).
 */
export const Ctx = createParamDecorator((_data: unknown, host: ExecutionContext): CommandContext =>
  commandContextOf(host.switchToHttp().getRequest<FastifyRequest>()),
);
