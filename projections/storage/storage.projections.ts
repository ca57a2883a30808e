/**
 * Read models of object storage:
 * - `storage_buckets`: one row per bucket, folded with the domain's own `evolve` (the full state
 *   as jsonb, the columns lists and look-ups by name filter on derived from it);
 * - `storage_object_versions`: one row per object version or delete marker (`is_latest` marks
 *   the newest of each key), what listing, downloads and version lists read; a deleted bucket's
 *   rows are removed with it;
 * - `storage_multipart_uploads` and `storage_multipart_parts`: uploads in progress and their
 *   parts (what bucket deletion counts and the orphan sweep keeps).
 * Every blob a live row names is referenced; the blob sweep removes the others.
 */
import type { EntityManager } from 'typeorm';

import type { RecordedEvent } from '../../src/eventstore/event-store';
import {
  BUCKET_CATEGORY,
  evolveBucket,
  initialBucketState,
  type BucketEvent,
  type BucketState,
  type AccessKeyEvent,
  type MultipartEvent,
  type ObjectEvent,
  type ObjectVersion,
} from '../../src/storage/domain';
import { defineProjection } from '../runtime/projection';

export const BUCKETS_PROJECTION = 'storage.buckets';
export const OBJECTS_PROJECTION = 'storage.objects';
export const MULTIPART_PROJECTION = 'storage.multipart_uploads';
export const ACCESS_KEYS_PROJECTION = 'storage.access_keys';

const BUCKET_EVENT_TYPES: readonly BucketEvent['type'][] = [
  'BucketCreated',
  'BucketVersioningChanged',
  'BucketDeleted',
  'LifecycleRuleAdded',
  'LifecycleRuleRemoved',
];
const OBJECT_EVENT_TYPES: readonly ObjectEvent['type'][] = [
  'ObjectVersionCreated',
  'ObjectDeleteMarkerCreated',
  'ObjectVersionRemoved',
  'ObjectVersionExpired',
];
const MULTIPART_EVENT_TYPES: readonly MultipartEvent['type'][] = [
  'MultipartUploadInitiated',
  'MultipartPartUploaded',
  'MultipartCompletionStarted',
  'MultipartUploadCompleted',
  'MultipartUploadAborted',
];

function atOf(event: RecordedEvent): string {
  const at = (event.data as { at?: unknown } | null)?.at;
  return typeof at === 'string' ? at : event.metadata.occurredAt;
}

function bucketIdOf(streamId: string): string {
  return streamId.startsWith(`${BUCKET_CATEGORY}-`)
    ? streamId.slice(BUCKET_CATEGORY.length + 1)
    : '';
}

export const bucketsProjection = defineProjection({
  name: BUCKETS_PROJECTION,
  version: 1,
  eventTypes: BUCKET_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS storage_buckets (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      is_public boolean NOT NULL,
      versioning text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_buckets_tenant ON storage_buckets (tenant_id, created_at, id)',
    );
    await m.query(
      "CREATE INDEX IF NOT EXISTS storage_buckets_name ON storage_buckets (name) WHERE status = 'ACTIVE'",
    );
  },
  async reset(m) {
    await m.query('TRUNCATE storage_buckets');
  },
  async apply(events, m) {
    for (const event of events) {
      const id = bucketIdOf(event.streamId);
      if (id === '') continue;
      const rows = await m.query<Array<{ state: BucketState; created_at: Date }>>(
        'SELECT state, created_at FROM storage_buckets WHERE id = $1',
        [id],
      );
      const before = rows[0]?.state ?? initialBucketState();
      const s = evolveBucket(before, { type: event.type, data: event.data } as BucketEvent);
      if (s.status === 'NONE' || s.tenantId === null) continue;
      const at = atOf(event);
      await m.query(
        `INSERT INTO storage_buckets (id, tenant_id, name, status, is_public, versioning, state,
           revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, is_public = EXCLUDED.is_public,
           versioning = EXCLUDED.versioning, state = EXCLUDED.state,
           revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
        [
          id,
          s.tenantId,
          s.name,
          s.status,
          s.isPublic,
          s.versioning,
          JSON.stringify(s),
          event.revision.toString(),
          at,
        ],
      );
    }
  },
});

async function insertVersion(
  m: EntityManager,
  data: { objectId: string; bucketId: string; tenantId: string; key: string },
  version: ObjectVersion,
  seq: bigint,
): Promise<void> {
  await m.query(
    'UPDATE storage_object_versions SET is_latest = false WHERE object_id = $1 AND is_latest',
    [data.objectId],
  );
  await m.query('DELETE FROM storage_object_versions WHERE object_id = $1 AND version_id = $2', [
    data.objectId,
    version.versionId,
  ]);
  await m.query(
    `INSERT INTO storage_object_versions (object_id, version_id, bucket_id, tenant_id, key,
       is_latest, delete_marker, size_bytes, etag, sha256, content_type, blob_id, seq, created_at)
     VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      data.objectId,
      version.versionId,
      data.bucketId,
      data.tenantId,
      data.key,
      version.deleteMarker,
      version.blob?.sizeBytes ?? 0,
      version.blob?.etag ?? null,
      version.blob?.sha256 ?? null,
      version.contentType,
      version.blob?.blobId ?? null,
      seq.toString(),
      version.createdAt,
    ],
  );
}

export const objectsProjection = defineProjection({
  name: OBJECTS_PROJECTION,
  version: 1,
  eventTypes: [...OBJECT_EVENT_TYPES, 'BucketDeleted'],
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS storage_object_versions (
      object_id uuid NOT NULL,
      version_id text NOT NULL,
      bucket_id uuid NOT NULL,
      tenant_id uuid NOT NULL,
      key text COLLATE "C" NOT NULL,
      is_latest boolean NOT NULL,
      delete_marker boolean NOT NULL,
      size_bytes bigint NOT NULL,
      etag text,
      sha256 text,
      content_type text,
      blob_id uuid,
      seq bigint NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (object_id, version_id)
    )`);
    await m.query(
      'CREATE TABLE IF NOT EXISTS storage_deleted_buckets (bucket_id uuid PRIMARY KEY)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_object_versions_listing ON storage_object_versions (bucket_id, key) WHERE is_latest AND NOT delete_marker',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_object_versions_bucket ON storage_object_versions (bucket_id, key, seq)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_object_versions_blob ON storage_object_versions (blob_id) WHERE blob_id IS NOT NULL',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE storage_object_versions, storage_deleted_buckets');
  },
  async apply(events, m) {
    for (const event of events) {
      if (event.type === 'BucketDeleted') {
        const { bucketId } = event.data as { bucketId: string };
        await m.query('DELETE FROM storage_object_versions WHERE bucket_id = $1', [bucketId]);
        await m.query(
          'INSERT INTO storage_deleted_buckets (bucket_id) VALUES ($1) ON CONFLICT DO NOTHING',
          [bucketId],
        );
        continue;
      }
      const e = { type: event.type, data: event.data } as ObjectEvent;
      const gone = await m.query<unknown[]>(
        'SELECT 1 FROM storage_deleted_buckets WHERE bucket_id = $1',
        [e.data.bucketId],
      );
      // Writes that raced a forced bucket deletion stay out of the read model.
      if (gone.length > 0) continue;
      switch (e.type) {
        case 'ObjectVersionCreated':
        case 'ObjectDeleteMarkerCreated':
          await insertVersion(m, e.data, e.data.version, event.revision);
          break;
        case 'ObjectVersionRemoved':
        case 'ObjectVersionExpired':
          await m.query(
            'DELETE FROM storage_object_versions WHERE object_id = $1 AND version_id = $2',
            [e.data.objectId, e.data.removed.versionId],
          );
          await m.query(
            `UPDATE storage_object_versions SET is_latest = true
             WHERE object_id = $1 AND seq = (SELECT max(seq) FROM storage_object_versions WHERE object_id = $1)`,
            [e.data.objectId],
          );
          break;
      }
    }
  },
});

export const multipartProjection = defineProjection({
  name: MULTIPART_PROJECTION,
  // 2: completions recorded as started (completing_blob_id).
  version: 2,
  eventTypes: [...MULTIPART_EVENT_TYPES, 'BucketDeleted'],
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS storage_multipart_uploads (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      bucket_id uuid NOT NULL,
      key text COLLATE "C" NOT NULL,
      content_type text NOT NULL,
      initiated_at timestamptz NOT NULL
    )`);
    await m.query(`CREATE TABLE IF NOT EXISTS storage_multipart_parts (
      upload_id uuid NOT NULL,
      part_number integer NOT NULL,
      blob_id uuid NOT NULL,
      size_bytes bigint NOT NULL,
      etag text NOT NULL,
      uploaded_at timestamptz NOT NULL,
      PRIMARY KEY (upload_id, part_number)
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_multipart_uploads_bucket ON storage_multipart_uploads (bucket_id, key, id)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_multipart_parts_blob ON storage_multipart_parts (blob_id)',
    );
    // The assembled object of a completion started and not recorded as done (a crash between
    // the two): referenced, so the orphan sweep keeps it for the retry that finishes it.
    await m.query(
      'ALTER TABLE storage_multipart_uploads ADD COLUMN IF NOT EXISTS completing_blob_id uuid',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE storage_multipart_uploads, storage_multipart_parts');
  },
  async apply(events, m) {
    const forget = async (where: string, id: string) => {
      await m.query(
        `DELETE FROM storage_multipart_parts WHERE upload_id IN (SELECT id FROM storage_multipart_uploads WHERE ${where} = $1)`,
        [id],
      );
      await m.query(`DELETE FROM storage_multipart_uploads WHERE ${where} = $1`, [id]);
    };
    for (const event of events) {
      if (event.type === 'BucketDeleted') {
        await forget('bucket_id', (event.data as { bucketId: string }).bucketId);
        continue;
      }
      const e = { type: event.type, data: event.data } as MultipartEvent;
      switch (e.type) {
        case 'MultipartUploadInitiated':
          await m.query(
            `INSERT INTO storage_multipart_uploads (id, tenant_id, bucket_id, key, content_type, initiated_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
            [
              e.data.uploadId,
              e.data.tenantId,
              e.data.bucketId,
              e.data.key,
              e.data.contentType,
              e.data.at,
            ],
          );
          break;
        case 'MultipartPartUploaded': {
          const { part } = e.data;
          await m.query(
            `INSERT INTO storage_multipart_parts (upload_id, part_number, blob_id, size_bytes, etag, uploaded_at)
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM storage_multipart_uploads WHERE id = $1)
             ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = EXCLUDED.blob_id,
               size_bytes = EXCLUDED.size_bytes, etag = EXCLUDED.etag, uploaded_at = EXCLUDED.uploaded_at`,
            [
              e.data.uploadId,
              part.partNumber,
              part.blob.blobId,
              part.blob.sizeBytes,
              part.blob.etag,
              part.uploadedAt,
            ],
          );
          break;
        }
        case 'MultipartCompletionStarted':
          await m.query(
            'UPDATE storage_multipart_uploads SET completing_blob_id = $2 WHERE id = $1',
            [e.data.uploadId, e.data.completion.assembled.blobId],
          );
          break;
        case 'MultipartUploadCompleted':
        case 'MultipartUploadAborted':
          await forget('id', e.data.uploadId);
          break;
      }
    }
  },
});

/**
 * `storage_access_keys`: the S3 access keys, with their sealed secrets (what the SigV4 verifier
 * looks up by access key id); a deleted key's row stays with `deleted_at` set.
 */
export const accessKeysProjection = defineProjection({
  name: ACCESS_KEYS_PROJECTION,
  version: 1,
  eventTypes: ['S3AccessKeyCreated', 'S3AccessKeyDeleted'] satisfies AccessKeyEvent['type'][],
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS storage_access_keys (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      user_id uuid NOT NULL,
      access_key_id text NOT NULL UNIQUE,
      sealed_secret text NOT NULL,
      created_at timestamptz NOT NULL,
      deleted_at timestamptz
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS storage_access_keys_tenant ON storage_access_keys (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE storage_access_keys');
  },
  async apply(events, m) {
    for (const event of events) {
      const e = { type: event.type, data: event.data } as AccessKeyEvent;
      if (e.type === 'S3AccessKeyCreated') {
        await m.query(
          `INSERT INTO storage_access_keys (id, tenant_id, user_id, access_key_id, sealed_secret, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
          [
            e.data.id,
            e.data.tenantId,
            e.data.userId,
            e.data.accessKeyId,
            e.data.sealedSecret,
            e.data.at,
          ],
        );
      } else if (e.type === 'S3AccessKeyDeleted') {
        await m.query('UPDATE storage_access_keys SET deleted_at = $2 WHERE id = $1', [
          e.data.id,
          e.data.at,
        ]);
      }
    }
  },
});

export const STORAGE_PROJECTIONS = [
  bucketsProjection,
  objectsProjection,
  multipartProjection,
  accessKeysProjection,
];
