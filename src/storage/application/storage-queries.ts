import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import {
  afterCreatedKey,
  createdKeyOf,
  decodeCursor,
  encodeCursor,
  fetchSize,
  paginate,
  type CreatedKey,
  type PageEnvelope,
  type PageRequest,
} from '../../common/pagination';
import { PG_POOL } from '../../platform/tokens';
import { bucketNameProblems, objectKeyProblems, type BucketState } from '../domain';
import { bucketNotFound } from './storage-access';
import {
  bucketView,
  objectVersionView,
  objectView,
  type BucketView,
  type ObjectRow,
  type ObjectVersionView,
  type ObjectView,
} from './views';

interface BucketRow {
  id: string;
  tenant_id: string;
  state: BucketState;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

export interface FoundBucket {
  view: BucketView;
  state: BucketState;
  revision: string;
}

export interface ObjectListing {
  items: ObjectView[];
  common_prefixes: string[];
  next_cursor: string | null;
}

const OBJECT_COLUMNS = `object_id, version_id, key, is_latest, delete_marker, size_bytes, etag,
  sha256, content_type, blob_id, created_at`;
/** Sorts after every character a key can hold at that position (keys compare bytewise). */
const AFTER_PREFIX = '\u{10FFFF}';
export const MAX_LIST_LIMIT = 1000;

const bucketOf = (row: BucketRow): FoundBucket => ({
  view: bucketView(row.state, {
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }),
  state: row.state,
  revision: row.revision,
});

/**
 * Reads of the storage read models. Another tenant's bucket is 404; public buckets are readable
 * by anyone (`publicBucket`), which the routes that allow anonymous reads use.
 */
@Injectable()
export class StorageQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The live bucket of that name as the read model has it, whoever owns it; null when none. */
  async bucketByName(name: string): Promise<FoundBucket | null> {
    if (bucketNameProblems(name).length > 0) return null;
    const { rows } = await this.pool.query<BucketRow>(
      `SELECT id, tenant_id, state, revision, created_at, updated_at FROM storage_buckets
       WHERE name = $1 AND status = 'ACTIVE' LIMIT 1`,
      [name],
    );
    return rows[0] ? bucketOf(rows[0]) : null;
  }

  /** The caller's bucket, or (when `anonymousRead`) a public one; otherwise 404. */
  async readableBucket(name: string, tenantId: string | null): Promise<FoundBucket> {
    const found = await this.bucketByName(name);
    if (!found) throw bucketNotFound(name);
    if (tenantId !== null ? found.state.tenantId === tenantId : found.state.isPublic) return found;
    throw bucketNotFound(name);
  }

  async buckets(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<BucketView[] | PageEnvelope<BucketView>> {
    const params: unknown[] = [tenantId];
    const after = afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<BucketRow>(
      `SELECT id, tenant_id, state, revision, created_at, updated_at FROM storage_buckets
       WHERE tenant_id = $1 AND status = 'ACTIVE'${after}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    const toView = (r: BucketRow) => bucketOf(r).view;
    return Array.isArray(result)
      ? result.map(toView)
      : { items: result.items.map(toView), page: result.page };
  }

  /** The version GET reads: the latest (404 when it is a delete marker) or the one named. */
  async objectVersion(
    bucketId: string,
    key: string,
    versionId: string | undefined,
  ): Promise<ObjectRow> {
    if (objectKeyProblems(key).length > 0 || (versionId !== undefined && /\0/.test(versionId))) {
      throw new AppError('not_found', `object not found`, { resource: 'object' });
    }
    const { rows } =
      versionId === undefined
        ? await this.pool.query<ObjectRow>(
            `SELECT ${OBJECT_COLUMNS} FROM storage_object_versions
             WHERE bucket_id = $1 AND key = $2 AND is_latest`,
            [bucketId, key],
          )
        : await this.pool.query<ObjectRow>(
            `SELECT ${OBJECT_COLUMNS} FROM storage_object_versions
             WHERE bucket_id = $1 AND key = $2 AND version_id = $3`,
            [bucketId, key, versionId],
          );
    const row = rows[0];
    if (!row || (row.delete_marker && versionId === undefined)) {
      throw new AppError('not_found', `object ${key} not found`, { resource: 'object', key });
    }
    if (row.delete_marker) {
      throw new AppError('not_found', `version ${versionId} of ${key} is a delete marker`, {
        resource: 'object_version',
        key,
        version_id: versionId,
      });
    }
    return row;
  }

  /**
   * The latest versions of a bucket in key order (bytewise), from `prefix`; with a delimiter,
   * keys that hold it after the prefix are rolled up into their common prefix (shown once).
   * The cursor is the last key or common prefix of the previous page.
   */
  async listObjects(
    bucket: { id: string; name: string },
    options: {
      prefix: string;
      delimiter: string;
      limit: number;
      cursor?: string;
      /** A key to start after (S3's StartAfter and Marker), used when there is no cursor. */
      startAfter?: string;
    },
  ): Promise<ObjectListing> {
    let after = options.startAfter ?? '';
    // A marker that is a common prefix (S3 v1's NextMarker) skips every key under it.
    if (options.delimiter !== '' && after.endsWith(options.delimiter)) after += AFTER_PREFIX;
    if (options.cursor !== undefined) {
      const decoded: unknown = decodeCursor(options.cursor);
      if (typeof decoded !== 'string') {
        throw AppError.validation('cursor is not valid', [
          { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
        ]);
      }
      after = decoded;
    }
    if (/\0/.test(options.prefix + options.delimiter + after)) {
      throw AppError.validation('prefix, delimiter and cursor must not contain NUL', [
        { path: 'prefix', message: 'must not contain NUL' },
      ]);
    }
    const items: ObjectView[] = [];
    const prefixes: string[] = [];
    let more = false;
    const count = () => items.length + prefixes.length;
    scan: for (;;) {
      const batch = options.limit - count() + 1;
      const { rows } = await this.pool.query<ObjectRow>(
        `SELECT ${OBJECT_COLUMNS} FROM storage_object_versions
         WHERE bucket_id = $1 AND is_latest AND NOT delete_marker
           AND left(key, $2) = $3 AND key > $4
         ORDER BY key LIMIT $5`,
        [bucket.id, options.prefix.length, options.prefix, after, batch],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        if (count() === options.limit) {
          more = true;
          break scan;
        }
        const rest = row.key.slice(options.prefix.length);
        const at = options.delimiter === '' ? -1 : rest.indexOf(options.delimiter);
        if (at >= 0) {
          const common = options.prefix + rest.slice(0, at + options.delimiter.length);
          prefixes.push(common);
          after = common + AFTER_PREFIX;
          continue scan;
        }
        items.push(objectView(bucket.name, row));
        after = row.key;
      }
      if (rows.length < batch) break;
    }
    return {
      items,
      common_prefixes: prefixes,
      next_cursor: more ? encodeCursor(after) : null,
    };
  }

  /** Every version of a key (delete markers too), newest first. */
  async versions(bucketId: string, key: string): Promise<ObjectVersionView[]> {
    if (objectKeyProblems(key).length > 0) {
      throw new AppError('not_found', 'object not found', { resource: 'object' });
    }
    const { rows } = await this.pool.query<ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM storage_object_versions
       WHERE bucket_id = $1 AND key = $2 ORDER BY seq DESC`,
      [bucketId, key],
    );
    if (rows.length === 0) {
      throw new AppError('not_found', `object ${key} not found`, { resource: 'object', key });
    }
    return rows.map(objectVersionView);
  }

  /**
   * Versions of a bucket's keys (delete markers too) in key order, newest first within a key,
   * from `prefix`, after the (key, version) marker; `limit + 1` rows so the caller sees more.
   */
  async bucketVersions(
    bucketId: string,
    options: { prefix: string; keyMarker: string; versionMarker: string; limit: number },
  ): Promise<ObjectRow[]> {
    const { rows } = await this.pool.query<ObjectRow & { seq: string }>(
      `SELECT ${OBJECT_COLUMNS}, seq FROM storage_object_versions
       WHERE bucket_id = $1 AND left(key, $2) = $3 AND key >= $4
       ORDER BY key, seq DESC LIMIT $5`,
      [bucketId, options.prefix.length, options.prefix, options.keyMarker, options.limit + 2000],
    );
    // The marker key's versions up to and including the version marker were on earlier pages.
    let versionSeen = false;
    const out: ObjectRow[] = [];
    for (const row of rows) {
      if (options.keyMarker !== '' && row.key === options.keyMarker) {
        if (options.versionMarker === '') continue;
        if (!versionSeen) {
          versionSeen = row.version_id === options.versionMarker;
          continue;
        }
      }
      out.push(row);
      if (out.length > options.limit) break;
    }
    return out;
  }

  /** Multipart uploads in progress in a bucket, by key then upload id. */
  /**
   * Uploads in progress by key, then initiation, from after the markers: every key after
   * `keyMarker`, and with `uploadIdMarker` also the uploads of `keyMarker` itself initiated after
   * that one (an upload id that is gone by now: all of that key's). At most `limit`.
   */
  async multipartUploads(
    bucketId: string,
    prefix: string,
    page: { keyMarker?: string; uploadIdMarker?: string; limit?: number } = {},
  ): Promise<Array<{ id: string; key: string; initiated_at: Date }>> {
    const { rows } = await this.pool.query<{ id: string; key: string; initiated_at: Date }>(
      `SELECT u.id, u.key, u.initiated_at FROM storage_multipart_uploads u
       WHERE u.bucket_id = $1 AND left(u.key, $2) = $3
         AND (u.key > $4 OR (u.key = $4 AND $5::uuid IS NOT NULL AND (u.initiated_at, u.id) >
           (COALESCE((SELECT m.initiated_at FROM storage_multipart_uploads m WHERE m.id = $5::uuid),
             '-infinity'), $5::uuid)))
       ORDER BY u.key, u.initiated_at, u.id LIMIT $6`,
      [
        bucketId,
        prefix.length,
        prefix,
        page.keyMarker ?? '',
        page.uploadIdMarker ?? null,
        page.limit ?? 1000,
      ],
    );
    return rows;
  }

  /** The parts of an upload in progress, by part number. */
  async multipartParts(
    uploadId: string,
  ): Promise<Array<{ part_number: number; etag: string; size_bytes: string; uploaded_at: Date }>> {
    const { rows } = await this.pool.query<{
      part_number: number;
      etag: string;
      size_bytes: string;
      uploaded_at: Date;
    }>(
      `SELECT part_number, etag, size_bytes, uploaded_at FROM storage_multipart_parts
       WHERE upload_id = $1 ORDER BY part_number`,
      [uploadId],
    );
    return rows;
  }
}
