import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';
import { httpStatusOf, type ErrorCode } from '../../common/errors/error-codes';
import { errorEnvelope } from '../../common/errors/error-envelope';
import { REQUEST_ID_HEADER } from '../../common/request-context';
import { routeTableOf } from './route-table';

interface RenderedError {
  status: number;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_error',
  FST_ERR_NOT_FOUND: 'route_not_found',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
  FST_ERR_BAD_URL: 'validation_error',
};

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  414: 'uri_too_long',
  408: 'request_timeout',
  431: 'headers_too_large',
  415: 'unsupported_media_type',
  422: 'validation_error',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** Maps anything thrown to the status and code the envelope shows. */
export function renderError(exception: unknown): RenderedError {
  if (exception instanceof AppError) {
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      details: exception.details,
      headers: exception.headers,
    };
  }
  const fastifyCode = fastifyCodeOf(exception);
  if (fastifyCode && FASTIFY_CODES[fastifyCode]) {
    const code = FASTIFY_CODES[fastifyCode];
    return { status: httpStatusOf(code), code, message: messageFor(code, exception) };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (exception.cause instanceof SyntaxError) {
      return { status: 400, code: 'malformed_json', message: 'the request body is not valid JSON' };
    }
    if (status === 404 && /^Cannot [A-Z]+ /.test(exception.message)) {
      return {
        status,
        code: 'route_not_found',
        message: `no route for ${shortened(exception.message.slice(7))}`,
      };
    }
    if (status < 500) {
      const code = CODE_BY_STATUS[status] ?? 'validation_error';
      return { status, code, message: exception.message };
    }
    if (status === 503) {
      return { status, code: 'service_unavailable', message: exception.message };
    }
  }
  return { status: 500, code: 'internal_error', message: 'an unexpected error occurred' };
}

/** A request line as it may be shown in a message: at most 200 characters. */
export function shortened(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/**
 * A known path asked with a method none of its routes takes: 405 with `Allow`, instead of the
 * 404 of a path that does not exist.
 */
function methodNotAllowed(rendered: RenderedError, request: FastifyRequest | undefined) {
  if (rendered.code !== 'route_not_found' || !request) return rendered;
  const allowed = routeTableOf(request.server)?.allowedMethods(request.url) ?? [];
  if (allowed.length === 0) return rendered;
  return {
    status: 405,
    code: 'method_not_allowed' as const,
    message: `${request.method} is not allowed here; this path takes ${allowed.join(', ')}`,
    details: { allowed },
    headers: { allow: allowed.join(', ') },
  };
}

function fastifyCodeOf(exception: unknown): string | undefined {
  const candidates = [exception, exception instanceof HttpException ? exception.cause : undefined];
  for (const c of candidates) {
    if (typeof c === 'object' && c !== null && 'code' in c && typeof c.code === 'string') {
      return c.code;
    }
  }
  return undefined;
}

const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  malformed_json: 'the request body is not valid JSON',
  payload_too_large: 'the request body exceeds the size limit',
  uri_too_long: 'a segment of the request path is longer than 100 characters',
  unsupported_media_type: 'the request body must be application/json',
};

function messageFor(code: ErrorCode, exception: unknown): string {
  // Fastify's own messages quote the whole path; never echo it.
  if (fastifyCodeOf(exception) === 'FST_ERR_BAD_URL') {
    return 'the request path is not valid (malformed percent-encoding)';
  }
  return (
    FIXED_MESSAGES[code] ?? (exception instanceof Error ? exception.message : String(exception))
  );
}

/** Sends the envelope of `exception`, with X-Request-ID (also for errors raised before routing). */
export function sendError(reply: FastifyReply, request: FastifyRequest, exception: unknown): void {
  sendRendered(reply, request, methodNotAllowed(renderError(exception), request));
}

function sendRendered(
  reply: FastifyReply,
  request: FastifyRequest | undefined,
  rendered: RenderedError,
): void {
  const requestId = request?.id ? String(request.id) : null;
  if (rendered.headers) void reply.headers(rendered.headers);
  if (requestId) void reply.header(REQUEST_ID_HEADER, requestId);
  void reply
    .status(rendered.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorEnvelope(rendered.code, rendered.message, rendered.details, requestId));
}

/**
 * The one place errors become HTTP responses: `{"error": {"code", "message", "details",
 * "request_id"}}`. Unexpected errors are logged with their stack and answered generically.
 */
@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const rendered = methodNotAllowed(renderError(exception), request);
    const requestId = request?.id ? String(request.id) : null;
    if (rendered.status >= 500) {
      this.logger.error({
        msg: 'request failed',
        request_id: requestId,
        method: request?.method,
        url: request?.url,
        err: exception instanceof Error ? exception : new Error(String(exception)),
      });
    }
    if (reply.sent) return;
    sendRendered(reply, request, rendered);
  }
}
