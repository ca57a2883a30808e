import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  blobsReleasedBy,
  liveVersion,
  NULL_VERSION,
  objectDecider,
  objectIdOf,
  storedBytesDelta,
  type BlobRef,
  type ObjectCommand,
  type ObjectEvent,
  type ObjectVersion,
} from './object';
import type { Versioning } from './bucket';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const BUCKET = 'b-1';
const KEY = 'docs/readme.txt';
const REF = { objectId: objectIdOf(BUCKET, KEY), bucketId: BUCKET, tenantId: 't-1', key: KEY };

const blob = (n: number): BlobRef => ({
  blobId: `blob-${n}`,
  sizeBytes: n * 100,
  sha256: `sha-${n}`,
  etag: `md5-${n}`,
});
const version = (id: string, n: number): ObjectVersion => ({
  versionId: id,
  deleteMarker: false,
  blob: blob(n),
  contentType: 'text/plain',
  createdAt: AT,
});
const marker = (id: string): ObjectVersion => ({
  versionId: id,
  deleteMarker: true,
  blob: null,
  contentType: null,
  createdAt: AT,
});
const put = (versioning: Versioning, n: number, newVersionId = `v-${n}`): ObjectCommand => ({
  type: 'PutObjectVersion',
  bucketId: BUCKET,
  tenantId: 't-1',
  key: KEY,
  versioning,
  newVersionId,
  blob: blob(n),
  contentType: 'text/plain',
  now: NOW,
});
const created = (v: ObjectVersion, replaced: ObjectVersion | null = null): ObjectEvent => ({
  type: 'ObjectVersionCreated',
  data: { ...REF, version: v, replaced, at: AT },
});
const del = (versioning: Versioning, versionId?: string): ObjectCommand => ({
  type: 'DeleteObjectVersion',
  versioning,
  newVersionId: 'm-1',
  ...(versionId !== undefined ? { versionId } : {}),
  now: NOW,
});

const s = spec(objectDecider);

describe('object versions: writes', () => {
  it('unversioned: a PUT writes the null version and replaces the previous one', () => {
    s.given([])
      .when(put('disabled', 1))
      .then([created(version(NULL_VERSION, 1))]);
    s.given([created(version(NULL_VERSION, 1))])
      .when(put('disabled', 2))
      .then([created(version(NULL_VERSION, 2), version(NULL_VERSION, 1))]);
  });

  it('versioned: every PUT adds a version; the latest is read', () => {
    s.given([created(version('v-1', 1))])
      .when(put('enabled', 2))
      .thenState((after) => {
        expect(after.versions.map((v) => v.versionId)).toEqual(['v-1', 'v-2']);
        expect(liveVersion(after)?.versionId).toBe('v-2');
      });
  });

  it('suspended: old versions stay, the null version is replaced', () => {
    s.given([created(version('v-1', 1)), created(version(NULL_VERSION, 2))])
      .when(put('suspended', 3))
      .thenState((after, events) => {
        expect(after.versions.map((v) => v.versionId)).toEqual(['v-1', NULL_VERSION]);
        expect(blobsReleasedBy(events[0])).toEqual(['blob-2']);
      });
  });

  it('a retried PUT of the same blob is a no-op; an over-long key is refused', () => {
    s.given([created(version(NULL_VERSION, 1))])
      .when(put('disabled', 1))
      .then([]);
    s.given([])
      .when({
        ...(put('disabled', 1) as Extract<ObjectCommand, { type: 'PutObjectVersion' }>),
        key: 'k'.repeat(1025),
      })
      .thenThrows('validation_error', /1024/);
  });
});

describe('object versions: deletes', () => {
  it('unversioned: the object is removed (its blob released)', () => {
    s.given([created(version(NULL_VERSION, 1))])
      .when(del('disabled'))
      .thenState((after, events) => {
        expect(after.versions).toEqual([]);
        expect(events[0].type).toBe('ObjectVersionRemoved');
        expect(blobsReleasedBy(events[0])).toEqual(['blob-1']);
        expect(storedBytesDelta(events[0])).toBe(-100);
      });
  });

  it('versioned: a delete marker hides the object and keeps its versions', () => {
    s.given([created(version('v-1', 1))])
      .when(del('enabled'))
      .thenState((after, events) => {
        expect(events).toEqual([
          {
            type: 'ObjectDeleteMarkerCreated',
            data: { ...REF, version: marker('m-1'), replaced: null, at: AT },
          },
        ]);
        expect(liveVersion(after)).toBeNull();
        expect(after.versions).toHaveLength(2);
        expect(blobsReleasedBy(events[0])).toEqual([]);
      });
  });

  it('suspended: the marker takes the null version id, replacing a null version', () => {
    s.given([created(version('v-1', 1)), created(version(NULL_VERSION, 2))])
      .when(del('suspended'))
      .thenState((after, events) => {
        expect(after.versions.map((v) => [v.versionId, v.deleteMarker])).toEqual([
          ['v-1', false],
          [NULL_VERSION, true],
        ]);
        expect(blobsReleasedBy(events[0])).toEqual(['blob-2']);
      });
  });

  it('a hidden or missing key is 404; a named version is removed permanently', () => {
    const hidden = {
      type: 'ObjectDeleteMarkerCreated' as const,
      data: { ...REF, version: marker('m-0'), replaced: null, at: AT },
    };
    s.given([created(version('v-1', 1)), hidden])
      .when(del('enabled'))
      .thenThrows('not_found');
    s.given([]).when(del('disabled')).thenThrows('not_found');
    s.given([created(version('v-1', 1)), hidden])
      .when(del('enabled', 'm-0'))
      .thenState((after) => expect(liveVersion(after)?.versionId).toBe('v-1'));
    s.given([created(version('v-1', 1))])
      .when(del('enabled', 'v-9'))
      .thenThrows('not_found', /version v-9/);
  });

  it('lifecycle expiry removes the version as an event naming the rule; twice is a no-op', () => {
    s.given([created(version(NULL_VERSION, 1))])
      .when({ type: 'ExpireObjectVersion', versionId: NULL_VERSION, ruleId: 'r-1', now: NOW })
      .then([
        {
          type: 'ObjectVersionExpired',
          data: { ...REF, removed: version(NULL_VERSION, 1), ruleId: 'r-1', at: AT },
        },
      ]);
    s.given([])
      .when({ type: 'ExpireObjectVersion', versionId: NULL_VERSION, ruleId: 'r-1', now: NOW })
      .thenThrows('not_found');
  });

  it('events carry metadata only, never bytes', () => {
    const [event] = objectDecider.decide(put('disabled', 1), objectDecider.initialState());
    expect(
      Object.keys((event.data as { version: ObjectVersion }).version.blob ?? {}).sort(),
    ).toEqual(['blobId', 'etag', 'sha256', 'sizeBytes']);
  });
});
