import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { AppError } from '../../common/errors/app-error';

const JSON_ONLY = ['application/json'];
/** Where `@ApiConsumes` (@nestjs/swagger) keeps its media types; not exported by the package. */
const API_CONSUMES = 'swagger/apiConsumes';

/** The media type of a Content-Type header, lower-case, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';')[0].trim().toLowerCase();
  return type ? type : undefined;
}

function carriesBody(request: FastifyRequest): boolean {
  const length = Number(request.headers['content-length'] ?? 0);
  return length > 0 || request.headers['transfer-encoding'] !== undefined;
}

/**
 * A request body must be of a media type its route takes: what the route documents with
 * `@ApiConsumes` (the image upload: multipart/form-data; object uploads: any type), else
 * application/json. Anything else
 * is 415 `unsupported_media_type`, also for bodies a parser registered for another route could
 * read (a multipart body sent to a JSON route).
 */
@Injectable()
export class MediaTypeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const type = mediaTypeOf(request.headers['content-type']);
      if (type !== undefined && carriesBody(request)) {
        const consumes =
          this.reflector.getAllAndOverride<string[] | undefined>(API_CONSUMES, [
            context.getHandler(),
            context.getClass(),
          ]) ?? JSON_ONLY;
        if (!consumes.includes(type) && !consumes.includes('*/*')) {
          throw new AppError(
            'unsupported_media_type',
            `this route takes ${consumes.join(' or ')} bodies, not ${type.slice(0, 100)}`,
            { accepted: consumes },
          );
        }
      }
    }
    return next.handle();
  }
}
