import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { AppModule, type AppExtras } from './app.module';
import { AppError } from './common/errors/app-error';
import { REQUEST_ID_HEADER, isValidRequestId } from './common/request-context';
import type { AppConfig } from './config/config';
import { createRootLogger, PinoNestLogger } from './platform/logging';
import { buildOpenApiDocument } from './platform/openapi';
import {
  jsonNestsDeeperThan,
  jsonTooDeepError,
  MAX_JSON_DEPTH,
  registerInputGuards,
} from './platform/http/input-guards';
import { answerClientError } from './platform/http/client-error';
import { sendError } from './platform/http/error-filter';
import { collectRoutes } from './platform/http/route-table';

export interface CreateAppOptions extends AppExtras {
  /** Defaults to a pino logger at config.logLevel on stdout. */
  logger?: PinoLogger;
}

/**
 * Builds and initialises the whole application (not yet listening): Fastify with the JSON body
 * parser, request ids, request logs, the OpenAPI document at /openapi.json and /docs.
 * `main.ts` listens on it; tests call it through test/support/app.ts.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const rootLogger = options.logger ?? createRootLogger(config.logLevel);
  const adapter = new FastifyAdapter({
    loggerInstance: rootLogger.child({ component: 'fastify' }),
    // Requests are logged once, at completion, by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // The router refuses an over-long path segment (414) or a malformed percent-encoding (400)
    // before any hook runs: answer those with the envelope and X-Request-ID too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) =>
      sendError(reply, request, error),
    // What the HTTP parser refuses before routing (431 headers too large, 408, malformed).
    clientErrorHandler: answerClientError,
    genReqId: (raw: IncomingMessage) => {
      const header = raw.headers[REQUEST_ID_HEADER];
      const value = Array.isArray(header) ? header[0] : header;
      return value !== undefined && isValidRequestId(value) ? value : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, rootLogger, options),
    adapter,
    { logger: new PinoNestLogger(rootLogger), bodyParser: false, abortOnError: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  collectRoutes(fastify);
  configureHttp(fastify, rootLogger);

  const document = buildOpenApiDocument(app, packageVersion());
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    raw: ['json'],
    customSiteTitle: 'Nimbus API',
  });

  await app.init();
  return app;
}

function configureHttp(fastify: FastifyInstance, rootLogger: PinoLogger): void {
  // JSON is the only body the API accepts by default; anything else is 415. Routes that take
  // uploads register their own parser (@fastify/multipart).
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const text = body as Buffer;
    // An object upload of JSON content keeps its bytes (bounded by the body limit).
    if (takesRawBody(request.url)) {
      done(null, text);
      return;
    }
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    const json = text.toString('utf8');
    if (jsonNestsDeeperThan(json, MAX_JSON_DEPTH)) {
      done(jsonTooDeepError(), undefined);
      return;
    }
    void parseJson(request, json, done);
  });
  // Object uploads take any content type, as a stream (never buffered, so the body limit does
  // not apply; the storage context enforces its own object size limit).
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (takesRawBody(request.url)) done(null, payload);
    else done(new UnsupportedMediaType(request.headers['content-type']), undefined);
  });
  registerInputGuards(fastify);

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    const header = request.headers[REQUEST_ID_HEADER];
    const supplied = Array.isArray(header) ? header[0] : header;
    if (supplied !== undefined && !isValidRequestId(supplied)) {
      done(
        AppError.validation('X-Request-ID must be 1 to 128 printable ASCII characters', [
          { path: 'headers.x-request-id', message: 'must be 1 to 128 printable ASCII characters' },
        ]),
      );
      return;
    }
    done();
  });

  const requestLog = rootLogger.child({ component: 'http' });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const entry = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      request_id: String(request.id),
      tenant_id: request.auth?.tenantId ?? null,
      actor: request.auth ? `${request.auth.actor.type}:${request.auth.actor.id}` : null,
    };
    if (reply.statusCode >= 500) requestLog.error(entry, 'request completed');
    else requestLog.info(entry, 'request completed');
    done();
  });
}

/** Routes whose body is the raw bytes of an object (or a part of one). */
export function takesRawBody(url: string): boolean {
  return /^\/storage\/(?!buckets\/|multipart\/(?:init|complete|abort)\/|presign\/|access-keys)[^/?]+\/./.test(
    url,
  );
}

/** What Fastify answers for a content type without a parser: 415 (error filter maps the code). */
class UnsupportedMediaType extends Error {
  readonly code = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
  readonly statusCode = 415;
  constructor(type: string | undefined) {
    super(`Unsupported Media Type: ${String(type).slice(0, 100)}`);
  }
}

let cachedVersion: string | undefined;
export function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  for (const candidate of [
    join(__dirname, '..', 'package.json'),
    join(__dirname, '..', '..', 'package.json'),
    join(__dirname, '..', '..', '..', 'package.json'),
  ]) {
    try {
      const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (parsed.name === 'nimbus' && parsed.version) return (cachedVersion = parsed.version);
    } catch {
      // try the next candidate
    }
  }
  return (cachedVersion = '0.0.0');
}
