/**
 * The versions of one object key in one bucket (stream `storage-object-<objectId>`, the id derived
 * from the bucket id and the key: `objectIdOf`). Object bytes live in the blob store; the events
 * carry only metadata: size, content type, checksums and the blob that holds the bytes.
 *
 * How a write or a delete treats versions depends on the bucket's versioning, passed in:
 * - `disabled` and `suspended`: a PUT writes the version `null`, replacing an earlier `null`
 *   version (in `suspended`, versions kept while versioning was enabled stay).
 * - `enabled`: a PUT adds a version with the new id the handler passes in.
 * - DELETE without a version id: `disabled` removes the `null` version; `enabled` adds a delete
 *   marker (new id); `suspended` adds a delete marker with id `null` (replacing a `null` version).
 *   A key whose latest version is missing or a delete marker is 404.
 * - DELETE of a named version removes that version (a delete marker too) permanently.
 *
 * Each event names the version it replaced or removed (`replaced`), so the read model, the blob
 * clean-up and stored-bytes metering need no other state.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import { uuidV5 } from '../../common/ids';
import { throwIfInvalid } from '../../compute/domain/validation';
import type { Decider } from '../../kernel/decider';
import type { Versioning } from './bucket';
import { objectKeyProblems } from './bucket-name';

export const OBJECT_CATEGORY = 'storage-object';
/** The version id of writes while versioning is disabled or suspended. */
export const NULL_VERSION = 'null';

/** The stored bytes of a version, as the blob store reported them. */
export interface BlobRef {
  blobId: string;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** The ETag: hex MD5 of the bytes, or `<md5 of the parts' md5s>-<parts>` for multipart. */
  etag: string;
}

/**
 * What an S3 client stored beside the bytes: the additional checksum it sent (verified on
 * upload, returned with `x-amz-checksum-mode: ENABLED`) and the response headers it set
 * (`Content-Encoding` without `aws-chunked`, `Content-Disposition`, `Cache-Control`,
 * `Content-Language`, `Expires`, `x-amz-meta-*`).
 */
export interface ObjectAttributes {
  checksum?: { algorithm: string; value: string };
  headers?: Record<string, string>;
}

export interface ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  /** Null for a delete marker. */
  blob: BlobRef | null;
  contentType: string | null;
  createdAt: string;
  /** Absent when nothing beyond the content type was stored. */
  attributes?: ObjectAttributes;
}

export function objectIdOf(bucketId: string, key: string): string {
  return uuidV5(`storage-object/${bucketId}/${key}`);
}

export interface PutObjectVersion {
  type: 'PutObjectVersion';
  bucketId: string;
  tenantId: string;
  key: string;
  versioning: Versioning;
  /** The id the version gets when versioning is enabled. */
  newVersionId: string;
  blob: BlobRef;
  contentType: string;
  attributes?: ObjectAttributes;
  now: Date;
}

export interface DeleteObjectVersion {
  type: 'DeleteObjectVersion';
  versioning: Versioning;
  /** A version to remove permanently; absent: the latest (a delete marker when versioned). */
  versionId?: string;
  /** The id a delete marker gets when versioning is enabled. */
  newVersionId: string;
  now: Date;
}

/** The lifecycle job: the version or marker is older than its rule (the expiry is an event). */
export interface ExpireObjectVersion {
  type: 'ExpireObjectVersion';
  versionId: string;
  ruleId: string;
  now: Date;
}

export type ObjectCommand = PutObjectVersion | DeleteObjectVersion | ExpireObjectVersion;

interface ObjectRef {
  objectId: string;
  bucketId: string;
  tenantId: string;
  key: string;
}

export type ObjectEvent =
  | {
      type: 'ObjectVersionCreated';
      data: ObjectRef & { version: ObjectVersion; replaced: ObjectVersion | null; at: string };
    }
  | {
      type: 'ObjectDeleteMarkerCreated';
      data: ObjectRef & { version: ObjectVersion; replaced: ObjectVersion | null; at: string };
    }
  | {
      type: 'ObjectVersionRemoved';
      data: ObjectRef & { removed: ObjectVersion; at: string };
    }
  | {
      type: 'ObjectVersionExpired';
      data: ObjectRef & { removed: ObjectVersion; ruleId: string; at: string };
    };

export interface ObjectState {
  ref: ObjectRef | null;
  /** Oldest first; the last one is the latest. */
  versions: ObjectVersion[];
}

export function initialObjectState(): ObjectState {
  return { ref: null, versions: [] };
}

function refOf(data: ObjectRef): ObjectRef {
  return {
    objectId: data.objectId,
    bucketId: data.bucketId,
    tenantId: data.tenantId,
    key: data.key,
  };
}

export function evolveObject(state: ObjectState, event: ObjectEvent): ObjectState {
  switch (event.type) {
    case 'ObjectVersionCreated':
    case 'ObjectDeleteMarkerCreated':
      return {
        ref: refOf(event.data),
        versions: [
          ...state.versions.filter((v) => v.versionId !== event.data.version.versionId),
          event.data.version,
        ],
      };
    case 'ObjectVersionRemoved':
    case 'ObjectVersionExpired':
      return {
        ref: state.ref ?? refOf(event.data),
        versions: state.versions.filter((v) => v.versionId !== event.data.removed.versionId),
      };
    default:
      return state;
  }
}

/** The latest version when it is not a delete marker: what GET without a version id reads. */
export function liveVersion(state: ObjectState): ObjectVersion | null {
  const latest = state.versions.at(-1);
  return latest && !latest.deleteMarker ? latest : null;
}

function noSuchKey(key: string): AppError {
  return new AppError('not_found', `object ${key} not found`, { resource: 'object', key });
}

export function decideObject(command: ObjectCommand, state: ObjectState): ObjectEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'PutObjectVersion') {
    throwIfInvalid(objectKeyProblems(command.key, 'key'));
    const ref: ObjectRef = {
      objectId: objectIdOf(command.bucketId, command.key),
      bucketId: command.bucketId,
      tenantId: command.tenantId,
      key: command.key,
    };
    const versionId = command.versioning === 'enabled' ? command.newVersionId : NULL_VERSION;
    const existing = state.versions.find((v) => v.versionId === versionId) ?? null;
    if (existing?.blob?.blobId === command.blob.blobId) return [];
    const version: ObjectVersion = {
      versionId,
      deleteMarker: false,
      blob: command.blob,
      contentType: command.contentType,
      createdAt: at,
      ...(command.attributes ? { attributes: command.attributes } : {}),
    };
    return [{ type: 'ObjectVersionCreated', data: { ...ref, version, replaced: existing, at } }];
  }
  const ref = state.ref;
  if (ref === null) throw new AppError('not_found', 'object not found', { resource: 'object' });

  switch (command.type) {
    case 'DeleteObjectVersion': {
      if (command.versionId !== undefined) {
        const removed = state.versions.find((v) => v.versionId === command.versionId);
        if (!removed) {
          throw new AppError('not_found', `version ${command.versionId} of ${ref.key} not found`, {
            resource: 'object_version',
            key: ref.key,
            version_id: command.versionId,
          });
        }
        return [{ type: 'ObjectVersionRemoved', data: { ...ref, removed, at } }];
      }
      const live = liveVersion(state);
      if (live === null) throw noSuchKey(ref.key);
      if (command.versioning === 'disabled') {
        return [{ type: 'ObjectVersionRemoved', data: { ...ref, removed: live, at } }];
      }
      const versionId = command.versioning === 'enabled' ? command.newVersionId : NULL_VERSION;
      const replaced = state.versions.find((v) => v.versionId === versionId) ?? null;
      const marker: ObjectVersion = {
        versionId,
        deleteMarker: true,
        blob: null,
        contentType: null,
        createdAt: at,
      };
      return [
        { type: 'ObjectDeleteMarkerCreated', data: { ...ref, version: marker, replaced, at } },
      ];
    }
    case 'ExpireObjectVersion': {
      const removed = state.versions.find((v) => v.versionId === command.versionId);
      if (!removed) return [];
      return [
        { type: 'ObjectVersionExpired', data: { ...ref, removed, ruleId: command.ruleId, at } },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const objectDecider: Decider<ObjectCommand, ObjectEvent, ObjectState> = {
  category: OBJECT_CATEGORY,
  initialState: initialObjectState,
  evolve: evolveObject,
  decide: decideObject,
};

/** The blobs an event stops referencing (to delete from the blob store once it is appended). */
export function blobsReleasedBy(event: ObjectEvent): string[] {
  switch (event.type) {
    case 'ObjectVersionCreated':
    case 'ObjectDeleteMarkerCreated':
      return event.data.replaced?.blob ? [event.data.replaced.blob.blobId] : [];
    case 'ObjectVersionRemoved':
    case 'ObjectVersionExpired':
      return event.data.removed.blob ? [event.data.removed.blob.blobId] : [];
    default:
      return assertUnreachable(event);
  }
}

/** Stored bytes an event adds (positive) or frees (negative). */
export function storedBytesDelta(event: ObjectEvent): number {
  const size = (v: ObjectVersion | null) => v?.blob?.sizeBytes ?? 0;
  switch (event.type) {
    case 'ObjectVersionCreated':
    case 'ObjectDeleteMarkerCreated':
      return size(event.data.version) - size(event.data.replaced);
    case 'ObjectVersionRemoved':
    case 'ObjectVersionExpired':
      return -size(event.data.removed);
    default:
      return assertUnreachable(event);
  }
}
