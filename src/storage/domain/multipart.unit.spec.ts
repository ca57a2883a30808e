import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  MIN_PART_BYTES,
  multipartDecider,
  multipartEtag,
  type MultipartCommand,
  type MultipartEvent,
} from './multipart';
import type { BlobRef } from './object';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const U = 'u-1';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const initiated: MultipartEvent = {
  type: 'MultipartUploadInitiated',
  data: {
    uploadId: U,
    bucketId: 'b-1',
    tenantId: 't-1',
    key: 'big.bin',
    contentType: 'application/octet-stream',
    at: AT,
  },
};
const blob = (n: number, size: number): BlobRef => ({
  blobId: `blob-${n}`,
  sizeBytes: size,
  sha256: `sha-${n}`,
  etag: md5(`part-${n}`),
});
const uploaded = (
  n: number,
  size = MIN_PART_BYTES,
  replaced: BlobRef | null = null,
): MultipartEvent => ({
  type: 'MultipartPartUploaded',
  data: {
    uploadId: U,
    part: { partNumber: n, blob: blob(n, size), uploadedAt: AT },
    replaced,
    at: AT,
  },
});
const complete = (
  parts: Array<{ partNumber: number; etag?: string }>,
  assembled = true,
): MultipartCommand => ({
  type: 'CompleteMultipartUpload',
  parts,
  minPartBytes: MIN_PART_BYTES,
  ...(assembled ? { assembled: { blobId: 'obj', sha256: 'sha-obj', versionId: 'null' } } : {}),
  now: NOW,
});

const s = spec(multipartDecider);

describe('multipart upload decider', () => {
  it('initiates for a key; initiating again for the same key is a no-op', () => {
    const cmd: MultipartCommand = {
      type: 'InitiateMultipartUpload',
      uploadId: U,
      bucketId: 'b-1',
      tenantId: 't-1',
      key: 'big.bin',
      contentType: 'application/octet-stream',
      now: NOW,
    };
    s.given([]).when(cmd).then([initiated]);
    s.given([initiated]).when(cmd).then([]);
  });

  it('a part uploaded again replaces the earlier one (whose blob is named)', () => {
    s.given([initiated, uploaded(1)])
      .when({ type: 'UploadPart', partNumber: 1, blob: { ...blob(9, 10) }, now: NOW })
      .thenState((after, events) => {
        expect(after.parts[1].blob.blobId).toBe('blob-9');
        expect(events[0]).toMatchObject({ data: { replaced: { blobId: 'blob-1' } } });
      });
  });

  it.each([0, 10001, 1.5])('part number %s is out of range', (n) => {
    s.given([initiated])
      .when({ type: 'UploadPart', partNumber: n, blob: blob(1, 1), now: NOW })
      .thenThrows('validation_error', /part_number/);
  });

  it('completes with the parts named, ETag md5-of-md5s-N, unused parts released', () => {
    s.given([initiated, uploaded(1), uploaded(2), uploaded(3, 10)])
      .when(complete([{ partNumber: 1 }, { partNumber: 3, etag: `"${md5('part-3')}"` }]))
      .thenState((after, events) => {
        expect(after.status).toBe('COMPLETED');
        const data = (events[0] as Extract<MultipartEvent, { type: 'MultipartUploadCompleted' }>)
          .data;
        expect(data.parts).toEqual([1, 3]);
        expect(data.object.sizeBytes).toBe(MIN_PART_BYTES + 10);
        expect(data.object.etag).toBe(multipartEtag([md5('part-1'), md5('part-3')]));
        expect(data.object.etag).toMatch(/^[0-9a-f]{32}-2$/);
        expect(data.unusedParts).toEqual(['blob-2']);
      });
  });

  it('checks the list: order, missing parts, ETags, part sizes, empty list', () => {
    const given = s.given([initiated, uploaded(1), uploaded(2, 100), uploaded(3, 10)]);
    given.when(complete([{ partNumber: 2 }, { partNumber: 1 }])).thenThrows('invalid_part_order');
    given.when(complete([{ partNumber: 1 }, { partNumber: 1 }])).thenThrows('invalid_part_order');
    given
      .when(complete([{ partNumber: 1 }, { partNumber: 4 }]))
      .thenThrows('invalid_part', /part 4/);
    given
      .when(complete([{ partNumber: 1, etag: md5('other') }]))
      .thenThrows('invalid_part', /ETag/);
    given
      .when(complete([{ partNumber: 1 }, { partNumber: 2 }, { partNumber: 3 }]))
      .thenThrows('entity_too_small', /part 2 is 100 bytes/);
    given.when(complete([])).thenThrows('validation_error');
    // Checking only (no assembled object yet) appends nothing.
    given.when(complete([{ partNumber: 1 }, { partNumber: 3 }], false)).then([]);
  });

  it('a completed upload: same list again is a no-op, anything else 404', () => {
    const done = multipartDecider.decide(
      complete([{ partNumber: 1 }]),
      [initiated, uploaded(1)].reduce(multipartDecider.evolve, multipartDecider.initialState()),
    );
    s.given([initiated, uploaded(1), ...done])
      .when(complete([{ partNumber: 1 }]))
      .then([]);
    s.given([initiated, uploaded(1), ...done])
      .when({ type: 'UploadPart', partNumber: 2, blob: blob(2, 1), now: NOW })
      .thenThrows('not_found');
    s.given([initiated, uploaded(1), ...done])
      .when({ type: 'AbortMultipartUpload', now: NOW })
      .thenThrows('not_found');
  });

  it('abort names every part blob; afterwards the upload is gone', () => {
    s.given([initiated, uploaded(1), uploaded(2)])
      .when({ type: 'AbortMultipartUpload', now: NOW })
      .then([
        {
          type: 'MultipartUploadAborted',
          data: {
            uploadId: U,
            bucketId: 'b-1',
            key: 'big.bin',
            partBlobs: ['blob-1', 'blob-2'],
            at: AT,
          },
        },
      ]);
    s.given([]).when({ type: 'AbortMultipartUpload', now: NOW }).thenThrows('not_found');
  });
  describe('a completion recorded as started (so a retry after a crash finishes it once)', () => {
    const assembled: BlobRef = {
      blobId: 'obj',
      sizeBytes: 2 * MIN_PART_BYTES,
      sha256: 's',
      etag: 'e-2',
    };
    const start = (parts: number[], blobId = 'obj'): MultipartCommand => ({
      type: 'StartMultipartCompletion',
      parts: parts.map((partNumber) => ({ partNumber })),
      assembled: { ...assembled, blobId },
      versionId: 'v-1',
      minPartBytes: MIN_PART_BYTES,
      now: NOW,
    });
    const started = (parts: number[], blobId = 'obj'): MultipartEvent => ({
      type: 'MultipartCompletionStarted',
      data: {
        uploadId: U,
        completion: { parts, assembled: { ...assembled, blobId }, versionId: 'v-1' },
        at: AT,
      },
    });

    it('records the assembled blob and version id once per part list', () => {
      s.given([initiated, uploaded(1), uploaded(2)])
        .when(start([1, 2]))
        .then([started([1, 2])]);
      s.given([initiated, uploaded(1), uploaded(2), started([1, 2])])
        .when(start([1, 2], 'obj-again'))
        .then([]);
      s.given([initiated, uploaded(1), uploaded(2), started([1, 2])])
        .when(start([1]))
        .then([started([1])]);
    });

    it('checks the list as a completion does', () => {
      s.given([initiated, uploaded(1)])
        .when(start([1, 3]))
        .thenThrows('invalid_part');
      s.given([initiated, uploaded(1), uploaded(2)])
        .when(start([2, 1]))
        .thenThrows('invalid_part_order');
    });

    it('an abort releases the started blob with the parts', () => {
      s.given([initiated, uploaded(1), started([1])])
        .when({ type: 'AbortMultipartUpload', now: NOW })
        .then([
          {
            type: 'MultipartUploadAborted',
            data: {
              uploadId: U,
              bucketId: 'b-1',
              key: 'big.bin',
              partBlobs: ['blob-1', 'obj'],
              at: AT,
            },
          },
        ]);
    });
  });
});
