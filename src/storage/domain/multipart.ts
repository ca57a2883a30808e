/**
 * A multipart upload (stream `multipart-upload-<uploadId>`): initiated for a key of a bucket,
 * parts uploaded in any order (a part number uploaded again replaces the earlier part), then
 * completed into one object version or aborted.
 *
 *   (initiate) -> IN_PROGRESS --complete--> COMPLETED
 *                             --abort-----> ABORTED
 *
 * Completion checks the list the client sends: at least one part; part numbers strictly
 * ascending (400 `invalid_part_order`); every part uploaded, with the same ETag when one is given
 * (400 `invalid_part`); every part but the last at least the minimum size (400
 * `entity_too_small`). Parts not named are dropped. The object's ETag is the MD5 of the parts'
 * MD5s followed by `-<number of parts>`.
 *
 * A completed or aborted upload no longer exists for parts, completion or abort (404), except
 * that completing again with the same part list is a no-op (a retried request).
 */
import { createHash } from 'node:crypto';

import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import { throwIfInvalid } from '../../compute/domain/validation';
import type { Decider } from '../../kernel/decider';
import { objectKeyProblems } from './bucket-name';
import type { BlobRef } from './object';

export const MULTIPART_CATEGORY = 'multipart-upload';
export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10000;
/** Every part but the last must be at least this large. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface UploadedPart {
  partNumber: number;
  blob: BlobRef;
  uploadedAt: string;
}

export interface InitiateMultipartUpload {
  type: 'InitiateMultipartUpload';
  uploadId: string;
  bucketId: string;
  tenantId: string;
  key: string;
  contentType: string;
  now: Date;
}

export interface UploadPart {
  type: 'UploadPart';
  partNumber: number;
  blob: BlobRef;
  now: Date;
}

export interface CompletedPartRef {
  partNumber: number;
  /** The ETag the part's upload answered; when given it must match. */
  etag?: string;
}

export interface CompleteMultipartUpload {
  type: 'CompleteMultipartUpload';
  parts: CompletedPartRef[];
  /** The assembled object; absent to only check the list (before assembling it). */
  assembled?: { blobId: string; sha256: string; versionId: string };
  minPartBytes: number;
  now: Date;
}

/**
 * Records the assembled object before it becomes a version, so a completion cut short (a crash
 * after the object's version was written, before the upload recorded its completion) is finished
 * by a retry with the same blob and version id instead of writing a second version.
 */
export interface StartMultipartCompletion {
  type: 'StartMultipartCompletion';
  parts: CompletedPartRef[];
  assembled: BlobRef;
  versionId: string;
  minPartBytes: number;
  now: Date;
}

export interface AbortMultipartUpload {
  type: 'AbortMultipartUpload';
  now: Date;
}

export type MultipartCommand =
  | InitiateMultipartUpload
  | UploadPart
  | StartMultipartCompletion
  | CompleteMultipartUpload
  | AbortMultipartUpload;

/** A completion recorded as started: its part list, assembled blob and version id. */
export interface PendingCompletion {
  parts: number[];
  assembled: BlobRef;
  versionId: string;
}

export type MultipartEvent =
  | {
      type: 'MultipartUploadInitiated';
      data: {
        uploadId: string;
        bucketId: string;
        tenantId: string;
        key: string;
        contentType: string;
        at: string;
      };
    }
  | {
      type: 'MultipartPartUploaded';
      data: { uploadId: string; part: UploadedPart; replaced: BlobRef | null; at: string };
    }
  | {
      type: 'MultipartCompletionStarted';
      data: { uploadId: string; completion: PendingCompletion; at: string };
    }
  | {
      type: 'MultipartUploadCompleted';
      data: {
        uploadId: string;
        bucketId: string;
        key: string;
        parts: number[];
        object: BlobRef;
        versionId: string;
        /** Blobs of parts uploaded but not named in the completion. */
        unusedParts: string[];
        at: string;
      };
    }
  | {
      type: 'MultipartUploadAborted';
      data: { uploadId: string; bucketId: string; key: string; partBlobs: string[]; at: string };
    };

export interface MultipartState {
  status: 'NONE' | 'IN_PROGRESS' | 'COMPLETED' | 'ABORTED';
  uploadId: string | null;
  bucketId: string | null;
  tenantId: string | null;
  key: string;
  contentType: string;
  /** By part number. */
  parts: Readonly<Record<number, UploadedPart>>;
  completedParts: number[];
  /** A completion started and not yet recorded as done (null otherwise). */
  completing: PendingCompletion | null;
  initiatedAt: string | null;
}

export function initialMultipartState(): MultipartState {
  return {
    status: 'NONE',
    uploadId: null,
    bucketId: null,
    tenantId: null,
    key: '',
    contentType: '',
    parts: {},
    completedParts: [],
    completing: null,
    initiatedAt: null,
  };
}

export function evolveMultipart(state: MultipartState, event: MultipartEvent): MultipartState {
  switch (event.type) {
    case 'MultipartUploadInitiated':
      return {
        ...initialMultipartState(),
        status: 'IN_PROGRESS',
        uploadId: event.data.uploadId,
        bucketId: event.data.bucketId,
        tenantId: event.data.tenantId,
        key: event.data.key,
        contentType: event.data.contentType,
        initiatedAt: event.data.at,
      };
    case 'MultipartPartUploaded':
      return {
        ...state,
        parts: { ...state.parts, [event.data.part.partNumber]: event.data.part },
      };
    case 'MultipartCompletionStarted':
      return { ...state, completing: event.data.completion };
    case 'MultipartUploadCompleted':
      return { ...state, status: 'COMPLETED', completedParts: event.data.parts, completing: null };
    case 'MultipartUploadAborted':
      return { ...state, status: 'ABORTED' };
    default:
      return state;
  }
}

/** `<hex md5 of the concatenated binary md5s>-<count>`, the ETag of a multipart object. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const md5 = createHash('md5');
  for (const hex of partMd5s) md5.update(Buffer.from(hex, 'hex'));
  return `${md5.digest('hex')}-${partMd5s.length}`;
}

const unquote = (etag: string) => etag.replace(/^"(.*)"$/, '$1');

/** The uploaded parts a completion list names, checked (throws 400 with S3's reasons). */
export function partsToComplete(
  state: MultipartState,
  list: readonly CompletedPartRef[],
  minPartBytes: number,
): UploadedPart[] {
  if (list.length === 0) {
    throw AppError.validation('a completion names at least one part', [
      { path: 'parts', message: 'must name at least one part' },
    ]);
  }
  const parts: UploadedPart[] = [];
  let previous = 0;
  for (const [index, ref] of list.entries()) {
    if (ref.partNumber <= previous) {
      throw new AppError(
        'invalid_part_order',
        `parts must be listed in ascending part number: ${ref.partNumber} follows ${previous}`,
        { index, part_number: ref.partNumber },
      );
    }
    previous = ref.partNumber;
    const part = state.parts[ref.partNumber];
    if (!part) {
      throw new AppError('invalid_part', `part ${ref.partNumber} was not uploaded`, {
        part_number: ref.partNumber,
      });
    }
    if (ref.etag !== undefined && unquote(ref.etag) !== part.blob.etag) {
      throw new AppError(
        'invalid_part',
        `the ETag given for part ${ref.partNumber} does not match the uploaded part`,
        { part_number: ref.partNumber },
      );
    }
    parts.push(part);
  }
  for (const part of parts.slice(0, -1)) {
    if (part.blob.sizeBytes < minPartBytes) {
      throw new AppError(
        'entity_too_small',
        `part ${part.partNumber} is ${part.blob.sizeBytes} bytes; every part but the last must be at least ${minPartBytes} bytes`,
        { part_number: part.partNumber, size_bytes: part.blob.sizeBytes, minimum: minPartBytes },
      );
    }
  }
  return parts;
}

function noSuchUpload(uploadId: string | null): AppError {
  return new AppError('not_found', `multipart upload ${uploadId ?? ''} not found`.trim(), {
    resource: 'multipart_upload',
    id: uploadId,
  });
}

function samePartList(state: MultipartState, list: readonly CompletedPartRef[]): boolean {
  return (
    state.completedParts.length === list.length &&
    state.completedParts.every((n, i) => list[i].partNumber === n)
  );
}

export function decideMultipart(
  command: MultipartCommand,
  state: MultipartState,
): MultipartEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'InitiateMultipartUpload') {
    if (state.status !== 'NONE') {
      if (state.bucketId === command.bucketId && state.key === command.key) return [];
      throw new AppError('conflict', `multipart upload ${command.uploadId} already exists`, {
        resource: 'multipart_upload',
        id: command.uploadId,
      });
    }
    throwIfInvalid(objectKeyProblems(command.key, 'key'));
    const { uploadId, bucketId, tenantId, key, contentType } = command;
    return [
      {
        type: 'MultipartUploadInitiated',
        data: { uploadId, bucketId, tenantId, key, contentType, at },
      },
    ];
  }
  if (
    command.type === 'CompleteMultipartUpload' &&
    state.status === 'COMPLETED' &&
    samePartList(state, command.parts)
  ) {
    return [];
  }
  if (state.status !== 'IN_PROGRESS') throw noSuchUpload(state.uploadId);
  const uploadId = state.uploadId as string;
  const bucketId = state.bucketId as string;

  switch (command.type) {
    case 'UploadPart': {
      const n = command.partNumber;
      if (!Number.isInteger(n) || n < MIN_PART_NUMBER || n > MAX_PART_NUMBER) {
        throw AppError.validation('part_number is out of range', [
          {
            path: 'part_number',
            message: `must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`,
          },
        ]);
      }
      const replaced = state.parts[n]?.blob ?? null;
      if (replaced?.blobId === command.blob.blobId) return [];
      const part: UploadedPart = { partNumber: n, blob: command.blob, uploadedAt: at };
      return [{ type: 'MultipartPartUploaded', data: { uploadId, part, replaced, at } }];
    }
    case 'StartMultipartCompletion': {
      const parts = partsToComplete(state, command.parts, command.minPartBytes);
      const numbers = parts.map((p) => p.partNumber);
      const pending = state.completing;
      if (pending && pending.parts.join(',') === numbers.join(',')) return [];
      return [
        {
          type: 'MultipartCompletionStarted',
          data: {
            uploadId,
            completion: {
              parts: numbers,
              assembled: command.assembled,
              versionId: command.versionId,
            },
            at,
          },
        },
      ];
    }
    case 'CompleteMultipartUpload': {
      const parts = partsToComplete(state, command.parts, command.minPartBytes);
      if (!command.assembled) return [];
      const used = new Set(parts.map((p) => p.partNumber));
      return [
        {
          type: 'MultipartUploadCompleted',
          data: {
            uploadId,
            bucketId,
            key: state.key,
            parts: parts.map((p) => p.partNumber),
            object: {
              blobId: command.assembled.blobId,
              sizeBytes: parts.reduce((sum, p) => sum + p.blob.sizeBytes, 0),
              sha256: command.assembled.sha256,
              etag: multipartEtag(parts.map((p) => p.blob.etag)),
            },
            versionId: command.assembled.versionId,
            unusedParts: Object.values(state.parts)
              .filter((p) => !used.has(p.partNumber))
              .map((p) => p.blob.blobId),
            at,
          },
        },
      ];
    }
    case 'AbortMultipartUpload':
      return [
        {
          type: 'MultipartUploadAborted',
          data: {
            uploadId,
            bucketId,
            key: state.key,
            partBlobs: [
              ...Object.values(state.parts).map((p) => p.blob.blobId),
              ...(state.completing ? [state.completing.assembled.blobId] : []),
            ],
            at,
          },
        },
      ];
    default:
      return assertUnreachable(command);
  }
}

export const multipartDecider: Decider<MultipartCommand, MultipartEvent, MultipartState> = {
  category: MULTIPART_CATEGORY,
  initialState: initialMultipartState,
  evolve: evolveMultipart,
  decide: decideMultipart,
};
