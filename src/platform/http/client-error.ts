import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorEnvelope } from '../../common/errors/error-envelope';
import { httpStatusOf, type ErrorCode } from '../../common/errors/error-codes';
import { REQUEST_ID_HEADER } from '../../common/request-context';

/** What Node's HTTP parser refused, as the API's code and a message a person can act on. */
function classify(code: string | undefined): { code: ErrorCode; message: string } {
  switch (code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return {
        code: 'headers_too_large',
        message: 'the request headers are larger than the server accepts (16 KiB in total)',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request_timeout', message: 'the request was not received in time' };
    default:
      return { code: 'validation_error', message: 'the request is not valid HTTP/1.1' };
  }
}

/**
 * Answers a request that Node's HTTP parser refused before any route or hook could see it (for
 * example headers over the size limit) with the error envelope and an X-Request-ID, instead of
 * the framework's bare JSON. The connection is closed afterwards: its framing cannot be trusted.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { code, message } = classify(error.code);
    const status = httpStatusOf(code);
    const requestId = randomUUID();
    const body = JSON.stringify(errorEnvelope(code, message, undefined, requestId));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
