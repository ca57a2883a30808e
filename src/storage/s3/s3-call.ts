import type { IncomingMessage, ServerResponse } from 'node:http';

import type { CommandContext } from '../../kernel/command-context';
import type { Verified } from './s3-auth';

/** One S3 request, resolved: who, which bucket and key, which sub-resource. */
export interface S3Call {
  req: IncomingMessage;
  res: ServerResponse;
  /** The verified signature; null for an unsigned (anonymous) request. */
  auth: Verified | null;
  ctx: CommandContext;
  bucket: string | null;
  key: string | null;
  query: Map<string, string>;
  requestId: string;
  /**
   * Throws AccessDenied (and records the denial) unless the caller may perform `action` for the
   * S3 `operation` on the bucket: a signed call's key user per IAM; an unsigned call only for the
   * anonymous reads of a public bucket.
   */
  authorize(operation: string, action: string, bucket?: string | null): Promise<void>;
}

/** Sends an XML answer. */
export function sendXml(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/xml');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
