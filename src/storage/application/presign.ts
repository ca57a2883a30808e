/**
 * Presigned URLs of the native API: `GET|PUT /storage/presigned/:bucket/*key?expires=&actor=&signature=`
 * lets whoever holds the URL read or write one object until `expires` (Unix seconds), without
 * credentials. The signature is HMAC-SHA256 (NIMBUS_STORAGE_PRESIGN_SECRET) over the method, the
 * bucket's id (a bucket deleted and created again voids its URLs), the key, the expiry and the
 * actor who presigned (the writer recorded in the events of a presigned PUT).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { AppError } from '../../common/errors/app-error';
import type { Actor } from '../../kernel/command-context';

export type PresignMethod = 'GET' | 'PUT';
/** Longest a presigned URL may live: 7 days, as in S3. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface PresignInput {
  method: PresignMethod;
  bucketId: string;
  key: string;
  /** Unix seconds. */
  expires: number;
  actor: Actor;
}

export function presignSignature(secret: Buffer, input: PresignInput): string {
  return createHmac('sha256', secret)
    .update(
      [
        'nimbus-presign-v1',
        input.method,
        input.bucketId,
        input.key,
        String(input.expires),
        `${input.actor.type}:${input.actor.id}`,
      ].join('\n'),
    )
    .digest('hex');
}

export function encodeActor(actor: Actor): string {
  return `${actor.type}:${actor.id}`;
}

export function decodeActor(text: string | undefined): Actor | null {
  const m = /^(user|api_key|system):([A-Za-z0-9_-]{1,64})$/.exec(text ?? '');
  return m ? { type: m[1] as Actor['type'], id: m[2] } : null;
}

/** Throws 403 `forbidden` unless the query carries a valid signature that has not expired. */
export function verifyPresigned(
  secret: Buffer,
  method: PresignMethod,
  bucketId: string,
  key: string,
  query: { expires?: string; actor?: string; signature?: string },
  now: Date,
): Actor {
  const expires = Number(query.expires);
  const actor = decodeActor(query.actor);
  if (
    !Number.isInteger(expires) ||
    actor === null ||
    !/^[0-9a-f]{64}$/.test(query.signature ?? '')
  ) {
    throw new AppError('forbidden', 'the presigned URL is incomplete (expires, actor, signature)');
  }
  const expected = Buffer.from(
    presignSignature(secret, { method, bucketId, key, expires, actor }),
    'hex',
  );
  if (!timingSafeEqual(expected, Buffer.from(query.signature as string, 'hex'))) {
    throw new AppError('forbidden', 'the presigned URL signature does not match');
  }
  if (expires * 1000 < now.getTime()) {
    throw new AppError('forbidden', 'the presigned URL has expired', {
      expired_at: new Date(expires * 1000).toISOString(),
    });
  }
  return actor;
}

/** `/storage/:bucket/<key>` with each key segment percent-encoded (slashes kept). */
export function objectPath(prefix: string, bucket: string, key: string): string {
  return `${prefix}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
