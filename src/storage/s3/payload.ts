/**
 * The body of an S3 upload as the use cases read it: the aws-chunked framing removed (and its
 * chunk signatures verified) and every digest the request promised checked while the bytes flow
 * (the x-amz-content-sha256 hash, Content-MD5, an `x-amz-checksum-*` header or trailer). A
 * mismatch fails the stream at its end, so the blob store keeps nothing.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';

import type { ObjectAttributes } from '../domain';
import { AwsChunkedDecoder } from './aws-chunked';
import {
  CHECKSUM_ALGORITHMS,
  checksumHasher,
  isChecksumAlgorithm,
  isWellFormedChecksum,
  type ChecksumAlgorithm,
  type ChecksumHasher,
} from './checksums';
import type { Verified } from './s3-auth';
import { S3Error } from './s3-errors';

/** Headers an S3 client sets on an object and gets back on GET/HEAD. */
const STORED_HEADERS = [
  'content-encoding',
  'content-disposition',
  'cache-control',
  'content-language',
  'expires',
];

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface UploadBody {
  stream: Readable;
  /** The verified checksum (known once the stream has ended), to store with the version. */
  checksum(): { algorithm: ChecksumAlgorithm; value: string } | undefined;
}

class Verifier extends Transform {
  private readonly sha256: Hash | null;
  private readonly md5: Hash | null;
  private readonly hasher: ChecksumHasher | null;
  result: { algorithm: ChecksumAlgorithm; value: string } | undefined;

  constructor(
    private readonly expectSha256: string | null,
    private readonly expectMd5: string | null,
    private readonly algorithm: ChecksumAlgorithm | null,
    private readonly expectedChecksum: () => string | undefined,
  ) {
    super();
    this.sha256 = expectSha256 ? createHash('sha256') : null;
    this.md5 = expectMd5 ? createHash('md5') : null;
    this.hasher = algorithm ? checksumHasher(algorithm) : null;
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.sha256?.update(chunk);
    this.md5?.update(chunk);
    this.hasher?.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.sha256 && this.sha256.digest('hex') !== this.expectSha256) {
      done(
        new S3Error(
          'XAmzContentSHA256Mismatch',
          'The provided x-amz-content-sha256 header does not match what was computed.',
        ),
      );
      return;
    }
    if (this.md5 && this.md5.digest('base64') !== this.expectMd5) {
      done(
        new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.'),
      );
      return;
    }
    if (this.hasher && this.algorithm) {
      const expected = this.expectedChecksum();
      if (expected === undefined) {
        done(
          new S3Error('InvalidRequest', `the x-amz-checksum-${this.algorithm} trailer is missing`),
        );
        return;
      }
      const actual = this.hasher.digest();
      if (actual !== expected) {
        done(
          new S3Error(
            'BadDigest',
            `The ${this.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          ),
        );
        return;
      }
      this.result = { algorithm: this.algorithm, value: actual };
    }
    done();
  }
}

/** Builds the verified body stream of an upload (PutObject, UploadPart). */
export function uploadBody(
  source: Readable,
  headers: IncomingHttpHeaders,
  auth: Verified,
): UploadBody {
  const payload = auth.payload;
  const streaming =
    payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer';
  const trailerNames = (single(headers, 'x-amz-trailer') ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  const trailed = trailerNames.find((n) => n.startsWith('x-amz-checksum-'));
  const headerAlgorithms = CHECKSUM_ALGORITHMS.filter(
    (a) => single(headers, `x-amz-checksum-${a}`) !== undefined,
  );
  if (headerAlgorithms.length + (trailed ? 1 : 0) > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
  }
  let algorithm: ChecksumAlgorithm | null = null;
  let headerValue: string | undefined;
  if (trailed) {
    const name = trailed.slice('x-amz-checksum-'.length);
    if (!isChecksumAlgorithm(name)) {
      throw new S3Error('InvalidRequest', `${trailed} is not a checksum S3 knows`);
    }
    if (!streaming) {
      throw new S3Error('InvalidRequest', 'a checksum trailer needs an aws-chunked payload');
    }
    algorithm = name;
  } else if (headerAlgorithms.length === 1) {
    algorithm = headerAlgorithms[0];
    headerValue = single(headers, `x-amz-checksum-${algorithm}`);
    if (!headerValue || !isWellFormedChecksum(algorithm, headerValue)) {
      throw new S3Error(
        'InvalidRequest',
        `Value for x-amz-checksum-${algorithm} header is invalid.`,
      );
    }
  }
  const md5 = single(headers, 'content-md5');
  if (md5 !== undefined && Buffer.from(md5, 'base64').length !== 16) {
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }

  let decoder: AwsChunkedDecoder | null = null;
  if (streaming) {
    const decoded = single(headers, 'x-amz-decoded-content-length');
    if (decoded !== undefined && !/^\d{1,15}$/.test(decoded)) {
      throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a number');
    }
    decoder = new AwsChunkedDecoder({
      signing:
        payload.kind === 'streaming-signed'
          ? {
              key: auth.signingKey,
              amzDate: auth.amzDate,
              scope: auth.scope,
              seedSignature: auth.signature,
            }
          : null,
      trailer:
        payload.kind === 'streaming-unsigned-trailer' ||
        (payload.kind === 'streaming-signed' && payload.trailer),
      decodedLength: decoded === undefined ? null : Number(decoded),
    });
  }
  const verifier = new Verifier(
    payload.kind === 'sha256' ? payload.hex : null,
    md5 ?? null,
    algorithm,
    () => {
      if (!trailed) return headerValue;
      const value = decoder?.trailers.get(trailed);
      return value !== undefined && algorithm && isWellFormedChecksum(algorithm, value)
        ? value
        : value;
    },
  );
  const noop = () => undefined;
  const stream = decoder
    ? pipeline(source, decoder, verifier, noop)
    : pipeline(source, verifier, noop);
  return { stream, checksum: () => verifier.result };
}

/** The headers an upload stores with the version (`aws-chunked` dropped from Content-Encoding). */
export function storedHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let value = single(headers, name);
    if (value === undefined) continue;
    if (name === 'content-encoding') {
      value = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '' && v.toLowerCase() !== 'aws-chunked')
        .join(', ');
      if (value === '') continue;
    }
    out[name] = value;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      out[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function attributesOf(
  headers: IncomingHttpHeaders,
  body: UploadBody,
): () => ObjectAttributes | undefined {
  return () => {
    const checksum = body.checksum();
    const stored = storedHeaders(headers);
    if (!checksum && !stored) return undefined;
    return { ...(checksum ? { checksum } : {}), ...(stored ? { headers: stored } : {}) };
  };
}
