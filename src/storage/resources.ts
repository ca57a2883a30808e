/**
 * Object storage's resource families: what the audit log, the timeline and the event feed know
 * about buckets, object versions and multipart uploads. Each `events` table names every event
 * type of its decider (the type system checks it). Object bytes are never in events; the
 * metadata (size, checksums, content type, the blob id) is.
 *
 * Billing: a bucket's stored bytes, per GiB-hour and second (`object-gb-hours`, SKU
 * `storage:object-gb`), metered per bucket id: each object event adjusts the bytes by its
 * `storedBytesDelta` (a completed multipart upload is an `ObjectVersionCreated` too), the bucket's
 * deletion stops it.
 */
import { audited, notAudited, resourceKind } from '../platform/resources/resource-kind';
import {
  accessKeyDecider,
  bucketDecider,
  bucketNamesDecider,
  multipartDecider,
  objectDecider,
  storedBytesDelta,
} from './domain';

const context = 'storage';

export const BUCKETS = resourceKind(bucketDecider, {
  context,
  family: 'bucket',
  readModel: null,
  actions: {
    BUCKET_CREATE: 'A bucket was created.',
    BUCKET_VERSIONING_CHANGE: "A bucket's versioning was enabled or suspended.",
    BUCKET_DELETE: 'A bucket was deleted (with its contents when forced).',
    BUCKET_LIFECYCLE_RULE_ADD: 'A lifecycle rule was added to a bucket.',
    BUCKET_LIFECYCLE_RULE_REMOVE: 'A lifecycle rule was removed from a bucket.',
  },
  events: {
    BucketCreated: audited('BUCKET_CREATE'),
    BucketVersioningChanged: audited('BUCKET_VERSIONING_CHANGE'),
    BucketDeleted: audited('BUCKET_DELETE'),
    LifecycleRuleAdded: audited('BUCKET_LIFECYCLE_RULE_ADD'),
    LifecycleRuleRemoved: audited('BUCKET_LIFECYCLE_RULE_REMOVE'),
  },
  billing: {
    meter: 'object-gb-hours',
    resourceIdField: 'bucketId',
    events: { BucketCreated: 'open', BucketDeleted: 'stop' },
  },
});

export const BUCKET_NAMES = resourceKind(bucketNamesDecider, {
  context,
  family: 'bucket_names',
  readModel: null,
  actions: {},
  events: {
    BucketNameReserved: notAudited('name bookkeeping of the bucket creation that asked'),
    BucketNameReleased: notAudited('name bookkeeping of the bucket deletion that asked'),
  },
});

export const OBJECTS = resourceKind(objectDecider, {
  context,
  family: 'object',
  readModel: null,
  actions: {
    OBJECT_PUT: 'An object (a version of a key) was written.',
    OBJECT_DELETE: 'An object was deleted (a delete marker when the bucket is versioned).',
    OBJECT_VERSION_DELETE: 'A version of an object was deleted permanently.',
    OBJECT_EXPIRE: "An object version was removed by its bucket's lifecycle rule.",
  },
  events: {
    ObjectVersionCreated: audited('OBJECT_PUT'),
    ObjectDeleteMarkerCreated: audited('OBJECT_DELETE'),
    ObjectVersionRemoved: audited('OBJECT_VERSION_DELETE'),
    ObjectVersionExpired: audited('OBJECT_EXPIRE'),
  },
  billing: {
    meter: 'object-gb-hours',
    resourceIdField: 'bucketId',
    events: {
      ObjectVersionCreated: 'adjust',
      ObjectDeleteMarkerCreated: 'adjust',
      ObjectVersionRemoved: 'adjust',
      ObjectVersionExpired: 'adjust',
    },
    quantityDelta: storedBytesDelta,
  },
});

export const MULTIPART_UPLOADS = resourceKind(multipartDecider, {
  context,
  family: 'multipart_upload',
  readModel: null,
  actions: {
    MULTIPART_UPLOAD_INITIATE: 'A multipart upload was initiated.',
    MULTIPART_UPLOAD_COMPLETE: 'A multipart upload was completed into an object.',
    MULTIPART_UPLOAD_ABORT: 'A multipart upload was aborted.',
  },
  events: {
    MultipartUploadInitiated: audited('MULTIPART_UPLOAD_INITIATE'),
    MultipartPartUploaded: notAudited('one part of an upload; its completion or abort is audited'),
    MultipartCompletionStarted: notAudited('a step of a completion; the completion is audited'),
    MultipartUploadCompleted: audited('MULTIPART_UPLOAD_COMPLETE'),
    MultipartUploadAborted: audited('MULTIPART_UPLOAD_ABORT'),
  },
});

export const S3_ACCESS_KEYS = resourceKind(accessKeyDecider, {
  context,
  family: 's3_access_key',
  readModel: 'storage_access_keys',
  actions: {
    S3_ACCESS_KEY_CREATE: 'An S3 access key was created (its secret is stored sealed).',
    S3_ACCESS_KEY_DELETE: 'An S3 access key was deleted.',
  },
  events: {
    S3AccessKeyCreated: audited('S3_ACCESS_KEY_CREATE'),
    S3AccessKeyDeleted: audited('S3_ACCESS_KEY_DELETE'),
  },
});

export const STORAGE_RESOURCE_KINDS = [
  BUCKETS,
  BUCKET_NAMES,
  OBJECTS,
  MULTIPART_UPLOADS,
  S3_ACCESS_KEYS,
];
