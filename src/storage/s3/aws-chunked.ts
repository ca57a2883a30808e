/**
 * Decodes the `aws-chunked` framing of streaming uploads while the bytes flow (never buffering a
 * chunk): `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` ... a zero-size chunk, then, with a
 * trailer, `name:value\r\n` lines (and `x-amz-trailer-signature` when signed) and an empty line.
 * Signed chunks are verified one by one, each signature chained on the previous one from the seed
 * signature of the request; a bad signature, a malformed frame or a decoded length other than
 * `x-amz-decoded-content-length` fails the stream (so the blob store keeps nothing).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { S3Error } from './s3-errors';
import { chunkStringToSign, sameSignature, sign, trailerStringToSign, type Scope } from './sigv4';

export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: Scope;
  seedSignature: string;
}

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER): every chunk is verified. */
  signing: ChunkSigning | null;
  /** A trailer follows the last chunk. */
  trailer: boolean;
  /** x-amz-decoded-content-length, when sent. */
  decodedLength: number | null;
}

const MAX_LINE = 4096;
type Phase = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  /** The trailing headers (lower-case names), once the stream has ended. */
  readonly trailers = new Map<string, string>();
  private phase: Phase = 'header';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private decoded = 0;
  private previousSignature: string;
  private chunkSignature = '';
  private chunkHash: Hash | null = null;

  constructor(private readonly options: AwsChunkedOptions) {
    super();
    this.previousSignature = options.signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    const endedAfterLastChunk =
      this.phase === 'trailer' &&
      this.pending.length === 0 &&
      !(this.options.signing && this.options.trailer);
    if (endedAfterLastChunk) this.phase = 'done';
    if (this.phase !== 'done') {
      done(new S3Error('IncompleteBody', 'the aws-chunked body ended before its final chunk'));
      return;
    }
    if (this.options.decodedLength !== null && this.decoded !== this.options.decodedLength) {
      done(
        new S3Error(
          'IncompleteBody',
          `the body decoded to ${this.decoded} bytes, x-amz-decoded-content-length says ${this.options.decodedLength}`,
        ),
      );
      return;
    }
    done();
  }

  private consume(input: Buffer): void {
    let buf: Buffer = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      switch (this.phase) {
        case 'data': {
          const take = Math.min(this.remaining, buf.length);
          const slice = buf.subarray(0, take);
          this.chunkHash?.update(slice);
          this.decoded += take;
          this.push(slice);
          this.remaining -= take;
          buf = buf.subarray(take);
          if (this.remaining === 0) this.phase = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          if (buf.length < 2) {
            this.pending = buf;
            return;
          }
          if (buf[0] !== 0x0d || buf[1] !== 0x0a)
            throw malformed('a chunk is not followed by CRLF');
          buf = buf.subarray(2);
          this.verifyChunk();
          this.phase = 'header';
          break;
        }
        case 'header':
        case 'trailer': {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > MAX_LINE) throw malformed('a chunk header line is too long');
            this.pending = buf;
            return;
          }
          const line = buf.subarray(0, eol).toString('latin1');
          buf = buf.subarray(eol + 2);
          if (this.phase === 'header') this.header(line);
          else this.trailerLine(line);
          break;
        }
        case 'done':
          // Anything after the end (a stray CRLF some clients send) is ignored if blank.
          if (buf.toString('latin1').trim() !== '') throw malformed('bytes after the last chunk');
          return;
      }
    }
  }

  private header(line: string): void {
    const [sizeText, ...extensions] = line.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText.trim())) throw malformed('bad chunk size');
    const size = parseInt(sizeText.trim(), 16);
    const signature = extensions
      .map((e) => /^chunk-signature=([0-9a-f]{64})$/.exec(e.trim())?.[1])
      .find((s) => s !== undefined);
    if (this.options.signing) {
      if (!signature) throw new S3Error('SignatureDoesNotMatch', 'a chunk has no chunk-signature');
      this.chunkSignature = signature;
      this.chunkHash = createHash('sha256');
    }
    this.remaining = size;
    if (size > 0) {
      this.phase = 'data';
      return;
    }
    // The final chunk: empty data, verified at once.
    this.verifyChunk();
    // Then trailer lines (none without a trailer) up to an empty line.
    this.phase = 'trailer';
  }

  private verifyChunk(): void {
    const signing = this.options.signing;
    if (!signing || !this.chunkHash) return;
    const expected = sign(
      signing.key,
      chunkStringToSign(
        signing.amzDate,
        signing.scope,
        this.previousSignature,
        this.chunkHash.digest('hex'),
      ),
    );
    this.chunkHash = null;
    if (!sameSignature(expected, this.chunkSignature)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'a chunk signature does not match (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)',
      );
    }
    this.previousSignature = this.chunkSignature;
  }

  private trailerLine(line: string): void {
    if (line === '') {
      this.finishTrailer();
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('bad trailer line');
    this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }

  private finishTrailer(): void {
    const signing = this.options.signing;
    const signature = this.trailers.get('x-amz-trailer-signature');
    this.trailers.delete('x-amz-trailer-signature');
    if (signing && this.options.trailer) {
      if (!signature) throw new S3Error('SignatureDoesNotMatch', 'the trailer is not signed');
      const expected = sign(
        signing.key,
        trailerStringToSign(signing.amzDate, signing.scope, this.previousSignature, [
          ...this.trailers.entries(),
        ]),
      );
      if (!sameSignature(expected, signature)) {
        throw new S3Error('SignatureDoesNotMatch', 'the trailer signature does not match');
      }
    }
    this.phase = 'done';
  }
}

function malformed(why: string): S3Error {
  return new S3Error('InvalidRequest', `malformed aws-chunked body: ${why}`);
}
