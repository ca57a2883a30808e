import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import type {
  BlobStore,
  BlobStoreStatus,
  BlobWriteOptions,
  ByteRange,
  StoredBlob,
} from '../../storage/ports/blob-store';
import { BLOB_ID_RE, Digesting } from './digesting';

export interface S3BlobStoreOptions {
  /** `http(s)://host:port/<bucket>[/<prefix>]`, addressed path-style. */
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const MIB = 1024 * 1024;
/** S3's smallest part but the last; sources at least this large are copied server-side. */
const MIN_COPY_PART = 5 * MIB;
/** S3's largest part (UploadPartCopy of one source). */
const MAX_COPY_PART = 5 * 1024 * MIB;

/**
 * Blobs as objects of an S3-compatible bucket (Ceph RGW, MinIO, AWS S3, or another Nimbus):
 * `<prefix>blobs/<id>`. A write is one `Upload` (PutObject, or a multipart upload for a larger
 * source) fed through the digesting transform; S3 makes an object visible only once PutObject or
 * CompleteMultipartUpload succeeded, so a crash never exposes a partial blob, and the upload it
 * leaves is aborted by `recover`. One Nimbus process per bucket prefix.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  /** '' or 'a/b/' */
  private readonly prefix: string;
  private readonly endpoint: string;

  constructor(options: S3BlobStoreOptions) {
    const u = new URL(options.url);
    const segments = u.pathname.split('/').filter((s) => s.length > 0);
    const bucket = segments.shift();
    if (!bucket) throw new Error(`the S3 URL ${options.url} names no bucket`);
    this.bucket = bucket;
    this.prefix = segments.map((s) => `${s}/`).join('');
    this.endpoint = `${u.protocol}//${u.host}`;
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: options.region,
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // The digest is ours; no CRC trailers required of servers that do not know them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private keyOf(blobId: string): string {
    if (!BLOB_ID_RE.test(blobId)) throw new Error(`not a blob id: ${blobId}`);
    return `${this.prefix}blobs/${blobId}`;
  }

  async put(source: Readable, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    return this.write(source, options.maxBytes ?? Number.MAX_SAFE_INTEGER);
  }

  private async write(source: Readable, maxBytes: number): Promise<StoredBlob> {
    const blobId = randomUUID();
    const digest = new Digesting(maxBytes);
    // A failing source fails the digest, whose error ends the upload (aborted, nothing left).
    source.on('error', (err) => digest.destroy(err));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.keyOf(blobId), Body: source.pipe(digest) },
      queueSize: 4,
      partSize: 8 * MIB,
      leavePartsOnError: false,
    });
    const failed: { error: Error | null } = { error: null };
    digest.once('error', (err) => {
      failed.error = err;
      void upload.abort().catch(() => undefined);
    });
    try {
      await upload.done();
    } catch (err) {
      throw failed.error ?? (err as Error);
    }
    if (failed.error) throw failed.error;
    return {
      blobId,
      sizeBytes: digest.bytes,
      sha256: digest.sha256.digest('hex'),
      md5: digest.md5.digest('hex'),
    };
  }

  async concat(blobIds: readonly string[], options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const sizes: number[] = [];
    for (const id of blobIds) {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id) }),
      );
      sizes.push(head.ContentLength ?? 0);
    }
    const serverSide =
      blobIds.length > 1 &&
      sizes.every((s, i) => s <= MAX_COPY_PART && (i === sizes.length - 1 || s >= MIN_COPY_PART));
    // The digests still need every byte, so they are read once; server-side copy saves the upload.
    const chained = Readable.from(this.chain(blobIds));
    if (!serverSide) return this.write(chained, maxBytes);
    const digest = new Digesting(maxBytes);
    chained.on('error', (err) => digest.destroy(err));
    const hashing = (async () => {
      for await (const _ of chained.pipe(digest)) void _;
    })();
    const blobId = randomUUID();
    const key = this.keyOf(blobId);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    const uploadId = created.UploadId ?? '';
    try {
      const parts = [];
      for (const [i, id] of blobIds.entries()) {
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: `${this.bucket}/${this.keyOf(id)}`,
          }),
        );
        parts.push({ PartNumber: i + 1, ETag: copied.CopyPartResult?.ETag });
      }
      await hashing;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      chained.destroy();
      await hashing.catch(() => undefined);
      await this.client
        .send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
        )
        .catch(() => undefined);
      throw err;
    }
    return {
      blobId,
      sizeBytes: digest.bytes,
      sha256: digest.sha256.digest('hex'),
      md5: digest.md5.digest('hex'),
    };
  }

  private async *chain(blobIds: readonly string[]): AsyncGenerator<Buffer> {
    for (const id of blobIds) {
      for await (const chunk of await this.open(id)) yield chunk as Buffer;
    }
  }

  async open(blobId: string, range?: ByteRange): Promise<Readable> {
    const res = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.keyOf(blobId),
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }),
    );
    if (!(res.Body instanceof Readable)) throw new Error('the S3 client gave no Node.js stream');
    return res.Body;
  }

  async delete(blobIds: readonly string[]): Promise<void> {
    const keys = blobIds.map((id) => this.keyOf(id));
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(`S3 refused to delete ${failed[0]?.Key}: ${failed[0]?.Message}`);
      }
    }
  }

  async recover(): Promise<{ temporaryFilesRemoved: number }> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: `${this.prefix}blobs/`,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        await this.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: upload.Key,
            UploadId: upload.UploadId,
          }),
        );
        removed += 1;
      }
      if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    return { temporaryFilesRemoved: removed };
  }

  async sweepOrphans(
    referenced: (blobIds: readonly string[]) => Promise<ReadonlySet<string>>,
    olderThanMs: number,
  ): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    const base = `${this.prefix}blobs/`;
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }),
      );
      const candidates = (page.Contents ?? [])
        .filter((o) => (o.LastModified?.getTime() ?? Infinity) < cutoff)
        .map((o) => (o.Key ?? '').slice(base.length))
        .filter((id) => BLOB_ID_RE.test(id));
      if (candidates.length > 0) {
        const kept = await referenced(candidates);
        const orphans = candidates.filter((id) => !kept.has(id));
        await this.delete(orphans);
        removed += orphans.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }

  async status(): Promise<BlobStoreStatus> {
    const location = `${this.endpoint}/${this.bucket}/${this.prefix}`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { backend: 's3', location, healthy: true, ...UNKNOWN_CAPACITY, problem: null };
    } catch (err) {
      return {
        backend: 's3',
        location,
        healthy: false,
        ...UNKNOWN_CAPACITY,
        problem: `HeadBucket ${this.bucket}: ${(err as Error).name}: ${(err as Error).message}`,
      };
    }
  }

  /** Stops the client's sockets (tests, shutdown). */
  close(): void {
    this.client.destroy();
  }
}

/** S3 tells no capacity, free or used bytes of its cluster. */
const UNKNOWN_CAPACITY = { capacityBytes: null, freeBytes: null, usedBytes: null } as const;
