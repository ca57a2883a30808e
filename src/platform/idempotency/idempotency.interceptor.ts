import { createHash } from 'node:crypto';
import {
  Injectable,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, isObservable, mergeMap, type Observable } from 'rxjs';
import { AppError } from '../../common/errors/app-error';
import { idempotencyKeyOf, idempotencyScopeOf } from '../../common/request-context';
import { IdempotencyStore, type StoredBody } from './idempotency.store';

/** Response headers not worth replaying: they belong to the connection or the new request. */
const NOT_REPLAYED = new Set([
  'x-request-id',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'idempotent-replayed',
]);

export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** sha256 of method, URL and the body as canonical JSON (object keys sorted). */
export function requestHashOf(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${url}\n`)
    .update(canonicalJson(body))
    .digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (Buffer.isBuffer(value)) return `buffer:${value.toString('base64')}`;
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/**
 * `Idempotency-Key` on POST: the first request runs and its response is stored; the same key
 * with the same request replays that response without running anything; with a different
 * request it is 422 `idempotency_key_reused`; while the first still runs it is 409 `conflict`.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.method !== 'POST') return next.handle();
    const key = idempotencyKeyOf(request);
    if (key === undefined) return next.handle();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const scope = idempotencyScopeOf(request);
    const hash = requestHashOf(request.method, request.url, request.body);

    return from(this.store.begin(scope, key, hash)).pipe(
      mergeMap((outcome): Observable<unknown> => {
        switch (outcome.kind) {
          case 'mismatch':
            throw new AppError(
              'idempotency_key_reused',
              'this Idempotency-Key was already used with a different request',
              { idempotency_key: key },
            );
          case 'in_progress':
            throw new AppError(
              'conflict',
              'a request with this Idempotency-Key is still being processed',
              { idempotency_key: key },
              { 'retry-after': '1' },
            );
          case 'replay':
            void reply.status(outcome.status);
            void reply.headers(outcome.headers);
            void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
            return from([replayBody(outcome.body)]);
          case 'started':
            return this.runAndRemember(next, reply, scope, key);
        }
      }),
    );
  }

  private runAndRemember(
    next: CallHandler,
    reply: FastifyReply,
    scope: string,
    key: string,
  ): Observable<unknown> {
    const run = async (): Promise<unknown> => {
      let body: unknown;
      try {
        body = await lastValue(next.handle());
      } catch (err) {
        await this.store.release(scope, key).catch(() => undefined);
        throw err;
      }
      if (!isStorable(body)) {
        await this.store.release(scope, key).catch(() => undefined);
        return body;
      }
      const stored: StoredBody = body === undefined ? {} : { value: body };
      try {
        await this.store.complete(scope, key, {
          status: reply.statusCode,
          headers: replayableHeaders(reply),
          body: JSON.parse(JSON.stringify(stored)) as StoredBody,
        });
      } catch (err) {
        await this.store.release(scope, key).catch(() => undefined);
        throw err;
      }
      return body;
    };
    return from(run());
  }
}

function replayBody(body: StoredBody): unknown {
  return 'value' in body ? body.value : undefined;
}

function isStorable(body: unknown): boolean {
  if (body instanceof StreamableFile || Buffer.isBuffer(body) || isObservable(body)) return false;
  if (
    body !== null &&
    typeof body === 'object' &&
    typeof (body as { pipe?: unknown }).pipe === 'function'
  ) {
    return false;
  }
  return true;
}

function replayableHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined || NOT_REPLAYED.has(name.toLowerCase())) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function lastValue(source: Observable<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let last: unknown;
    source.subscribe({
      next: (v) => {
        last = v;
      },
      error: reject,
      complete: () => resolve(last),
    });
  });
}
