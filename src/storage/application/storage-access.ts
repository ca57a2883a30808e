import { Inject, Injectable, Logger } from '@nestjs/common';
import { derivedContext } from '../../platform/commands/system-context';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';
import { KeyedMutex } from '../../common/keyed-mutex';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { PG_POOL } from '../../platform/tokens';
import {
  BUCKET_NAMES_ID,
  bucketNameProblems,
  bucketDecider,
  bucketNamesDecider,
  multipartDecider,
  type BucketState,
  type MultipartState,
} from '../domain';
import { BLOB_STORE, type BlobStore } from '../ports/blob-store';
import { STORAGE_OPTIONS, type StorageOptions } from './storage-options';

export interface OwnedBucket {
  bucketId: string;
  state: BucketState;
}

/**
 * What the storage use cases share: finding a bucket by name (the read model maps the name to
 * the bucket's id, the stream decides; another tenant's bucket is 404, checked before anything
 * else), the name registry, the blob store and releasing blobs no version references any more.
 */
@Injectable()
export class StorageAccess {
  private readonly log = new Logger('StorageAccess');
  /** One write at a time per object key in this process (other processes: the executor's retries). */
  readonly objectLocks = new KeyedMutex();

  constructor(
    readonly executor: CommandExecutor,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(BLOB_STORE) readonly blobs: BlobStore,
    @Inject(STORAGE_OPTIONS) readonly options: StorageOptions,
  ) {}

  /** The live bucket of that name, whoever owns it; null when there is none. */
  async bucketNamed(name: string): Promise<OwnedBucket | null> {
    if (bucketNameProblems(name).length > 0) return null;
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM storage_buckets WHERE name = $1 AND status = 'ACTIVE' LIMIT 1",
      [name],
    );
    if (!rows[0]) return null;
    const { state } = await this.executor.load(bucketDecider, rows[0].id);
    return state.status === 'ACTIVE' ? { bucketId: rows[0].id, state } : null;
  }

  /** The caller's live bucket of that name; another tenant's (or none) is 404. */
  async ownedBucket(name: string, tenantId: string): Promise<OwnedBucket> {
    const found = await this.bucketNamed(name);
    if (!found || found.state.tenantId !== tenantId) throw bucketNotFound(name);
    return found;
  }

  async ownedUpload(uploadId: string, tenantId: string): Promise<MultipartState> {
    if (!isUuid(uploadId)) throw AppError.notFound('multipart_upload', uploadId);
    const { state } = await this.executor.load(multipartDecider, uploadId);
    if (state.status === 'NONE' || state.tenantId !== tenantId) {
      throw AppError.notFound('multipart_upload', uploadId);
    }
    return state;
  }

  /**
   * Throws what reserving the name would (409 bucket_already_exists or
   * bucket_already_owned_by_you) without appending: checks done before anything is written.
   */
  async assertNameFree(name: string, bucketId: string, tenantId: string, now: Date): Promise<void> {
    const { state } = await this.executor.load(bucketNamesDecider, BUCKET_NAMES_ID);
    bucketNamesDecider.decide({ type: 'ReserveBucketName', name, bucketId, tenantId, now }, state);
  }

  async reserveName(name: string, bucketId: string, tenantId: string, ctx: CommandContext) {
    await this.executor.execute(
      bucketNamesDecider,
      BUCKET_NAMES_ID,
      { type: 'ReserveBucketName', name, bucketId, tenantId, now: ctx.now },
      derivedContext(ctx, `reserve_bucket_name/${name}`),
      30,
    );
  }

  async releaseName(name: string, bucketId: string, ctx: CommandContext) {
    await this.executor.execute(
      bucketNamesDecider,
      BUCKET_NAMES_ID,
      { type: 'ReleaseBucketName', name, bucketId, now: ctx.now },
      derivedContext(ctx, `release_bucket_name/${name}`),
      30,
    );
  }

  /** Object versions and multipart uploads a bucket holds, and the blobs they reference. */
  async contentsOf(
    bucketId: string,
  ): Promise<{ versions: number; uploads: number; blobIds: string[] }> {
    const versions = await this.pool.query<{ blob_id: string | null }>(
      'SELECT blob_id FROM storage_object_versions WHERE bucket_id = $1',
      [bucketId],
    );
    const uploads = await this.pool.query<{ id: string }>(
      'SELECT id FROM storage_multipart_uploads WHERE bucket_id = $1',
      [bucketId],
    );
    const parts = await this.pool.query<{ blob_id: string }>(
      `SELECT p.blob_id FROM storage_multipart_parts p
       JOIN storage_multipart_uploads u ON u.id = p.upload_id WHERE u.bucket_id = $1`,
      [bucketId],
    );
    return {
      versions: versions.rows.length,
      uploads: uploads.rows.length,
      blobIds: [
        ...versions.rows.flatMap((r) => (r.blob_id ? [r.blob_id] : [])),
        ...parts.rows.map((r) => r.blob_id),
      ],
    };
  }

  /** The blob ids among `ids` that a live version or part names (what the sweep keeps). */
  async referencedBlobs(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const { rows } = await this.pool.query<{ blob_id: string }>(
      `SELECT blob_id FROM storage_object_versions WHERE blob_id = ANY($1::uuid[])
       UNION SELECT blob_id FROM storage_multipart_parts WHERE blob_id = ANY($1::uuid[])
       UNION SELECT completing_blob_id FROM storage_multipart_uploads
         WHERE completing_blob_id = ANY($1::uuid[])`,
      [ids],
    );
    return new Set(rows.map((r) => r.blob_id));
  }

  /** Deletes blobs nothing references any more; a failure is logged (the sweep retries). */
  async releaseBlobs(blobIds: readonly string[]): Promise<void> {
    if (blobIds.length === 0) return;
    try {
      await this.blobs.delete(blobIds);
    } catch (err) {
      this.log.warn(`could not delete ${blobIds.length} blob(s): ${(err as Error).message}`);
    }
  }
}

export function bucketNotFound(name: string): AppError {
  return new AppError('not_found', `bucket ${name} not found`, { resource: 'bucket', name });
}
