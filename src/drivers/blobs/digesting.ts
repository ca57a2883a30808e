import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { AppError } from '../../common/errors/app-error';

export const BLOB_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Hashes and counts the bytes passing through; refuses more than `maxBytes`. */
export class Digesting extends Transform {
  readonly sha256 = createHash('sha256');
  readonly md5 = createHash('md5');
  /** Bytes so far (not `size`: lib-storage would take that for the length of the whole body). */
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(
        new AppError('payload_too_large', `the object is larger than ${this.maxBytes} bytes`, {
          limit_bytes: this.maxBytes,
        }),
      );
      return;
    }
    this.sha256.update(chunk);
    this.md5.update(chunk);
    done(null, chunk);
  }
}
