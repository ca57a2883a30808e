import { join } from 'node:path';

import type { AppConfig } from '../../config/config';
import { loadOrCreateKeyFile } from '../../identity/keys/server-keys';

export const STORAGE_OPTIONS = Symbol('STORAGE_OPTIONS');

export interface StorageOptions {
  /** Where the filesystem blob store keeps its files. */
  blobRoot: string;
  /** null: the filesystem blob store; else the S3 bucket blobs go to. */
  blobS3: AppConfig['blobS3'];
  /** Largest object one upload (or one part) writes. */
  maxObjectBytes: number;
  /** HMAC key of presigned URLs (NIMBUS_STORAGE_PRESIGN_SECRET, else generated in keys/). */
  presignSecret: Buffer;
  /** Every part of a multipart upload but the last is at least this large. */
  minPartBytes: number;
  /** Blobs no metadata references are removed once older than this. */
  orphanGraceMs: number;
}

export function storageOptionsFrom(config: AppConfig): StorageOptions {
  return {
    blobRoot: join(config.dataDir, 'blobs'),
    blobS3: config.blobS3,
    maxObjectBytes: config.storageMaxObjectBytes,
    presignSecret:
      config.storagePresignSecret ??
      loadOrCreateKeyFile(join(config.dataDir, 'keys'), 'storage-presign', 32).key,
    minPartBytes: 5 * 1024 * 1024,
    orphanGraceMs: 60 * 60 * 1000,
  };
}
