import type { BucketState, LifecycleRule, Versioning } from '../domain';

export interface BucketView {
  id: string;
  name: string;
  is_public: boolean;
  versioning: Versioning;
  versioning_enabled: boolean;
  arn: string;
  created_at: string;
  updated_at: string;
}

export function bucketView(
  s: BucketState,
  times: { createdAt: string; updatedAt: string },
): BucketView {
  return {
    id: s.bucketId as string,
    name: s.name,
    is_public: s.isPublic,
    versioning: s.versioning,
    versioning_enabled: s.versioning === 'enabled',
    arn: `arn:nimbus:storage:local:${s.tenantId as string}:bucket/${s.name}`,
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  };
}

export interface LifecycleRuleView {
  id: string;
  prefix: string;
  expiration_days: number;
}

export function lifecycleRuleView(rule: LifecycleRule): LifecycleRuleView {
  return { id: rule.ruleId, prefix: rule.prefix, expiration_days: rule.expirationDays };
}

/** An object version as the native API shows it (the upload's answer, list items, HEAD). */
export interface ObjectView {
  id: string;
  bucket: string;
  key: string;
  size_bytes: number;
  content_type: string | null;
  /** Hex SHA-256 of the bytes. */
  checksum: string | null;
  etag: string | null;
  upload_status: 'AVAILABLE';
  version_id: string;
  created_at: string;
}

export interface ObjectVersionView {
  version_id: string;
  is_latest: boolean;
  delete_marker: boolean;
  size_bytes: number;
  content_type: string | null;
  checksum: string | null;
  etag: string | null;
  created_at: string;
}

export interface ObjectRow {
  object_id: string;
  version_id: string;
  key: string;
  is_latest: boolean;
  delete_marker: boolean;
  size_bytes: string;
  etag: string | null;
  sha256: string | null;
  content_type: string | null;
  blob_id: string | null;
  created_at: Date;
}

export function objectView(bucket: string, row: ObjectRow): ObjectView {
  return {
    id: row.object_id,
    bucket,
    key: row.key,
    size_bytes: Number(row.size_bytes),
    content_type: row.content_type,
    checksum: row.sha256,
    etag: row.etag,
    upload_status: 'AVAILABLE',
    version_id: row.version_id,
    created_at: row.created_at.toISOString(),
  };
}

export function objectVersionView(row: ObjectRow): ObjectVersionView {
  return {
    version_id: row.version_id,
    is_latest: row.is_latest,
    delete_marker: row.delete_marker,
    size_bytes: Number(row.size_bytes),
    content_type: row.content_type,
    checksum: row.sha256,
    etag: row.etag,
    created_at: row.created_at.toISOString(),
  };
}
