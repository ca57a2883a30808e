/**
 * Where object bytes live. The storage context keeps every piece of metadata in events; a blob is
 * only bytes under an id the store chooses, written once and never changed. Two adapters
 * (`src/drivers/blobs/`, chosen by `NIMBUS_BLOB_STORE`): `FilesystemBlobStore` under
 * `<NIMBUS_DATA_DIR>/blobs`, and `S3BlobStore` in a bucket of any S3-compatible cluster.
 *
 * Contract of every adapter:
 * - `put` streams the source to the store, computing SHA-256 and MD5 on the way, and returns only
 *   once the bytes are durable; until then no blob id exists, so a crash never exposes a partial
 *   blob. A source longer than `maxBytes` is refused (413) and leaves nothing behind. The whole
 *   blob is never held in memory.
 * - `concat` writes a new blob from existing ones in order (multipart completion), streamed.
 * - `open` streams a blob, or the inclusive byte range of it; a missing blob is an error.
 * - `delete` removes blobs; a missing one is no error (idempotent, repeated after a crash).
 * - `recover` runs at start-up, before any write: it removes the temporary files (or unfinished
 *   multipart uploads) of writes that never finished. `sweepOrphans` removes blobs older than a grace period that no metadata
 *   references (a crash between the write and the append of its event leaves one).
 */
import type { Readable } from 'node:stream';

export const BLOB_STORE = Symbol('BLOB_STORE');

export interface StoredBlob {
  blobId: string;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** Hex MD5 of the bytes (S3's ETag of a single-part object). */
  md5: string;
}

export interface BlobWriteOptions {
  /** Refuse (413 payload_too_large) a source longer than this. */
  maxBytes?: number;
}

/** Inclusive byte offsets, as in an HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStoreStatus {
  backend: 'filesystem' | 's3';
  /** Where the blobs are (a directory, or the S3 endpoint, bucket and prefix). */
  location: string;
  healthy: boolean;
  /** null when the backend does not tell (S3). */
  capacityBytes: number | null;
  freeBytes: number | null;
  /** Bytes of the file system in use (by anything, not only blobs); null when unknown (S3). */
  usedBytes: number | null;
  /** Why the store is unhealthy, when it is. */
  problem: string | null;
}

export interface BlobStore {
  put(source: Readable, options?: BlobWriteOptions): Promise<StoredBlob>;
  concat(blobIds: readonly string[], options?: BlobWriteOptions): Promise<StoredBlob>;
  open(blobId: string, range?: ByteRange): Promise<Readable>;
  delete(blobIds: readonly string[]): Promise<void>;
  recover(): Promise<{ temporaryFilesRemoved: number }>;
  /**
   * Removes blobs last written more than `olderThanMs` ago whose ids `referenced` does not return;
   * returns how many it removed.
   */
  sweepOrphans(
    referenced: (blobIds: readonly string[]) => Promise<ReadonlySet<string>>,
    olderThanMs: number,
  ): Promise<number>;
  status(): Promise<BlobStoreStatus>;
}
