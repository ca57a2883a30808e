/**
 * The image aggregate (stream `image-<imageId>`): metadata plus the Docker image an instance boots
 * from. No registry is reachable, so every image is a root filesystem fed to `docker import`,
 * either uploaded (`POST /images/:id/upload`) or downloaded (`POST /images/import`).
 *
 *   (register) -> PENDING --import started--> PENDING (import in progress)
 *                    --imported--> ACTIVE          --failed--> ERROR --import started--> ...
 *   any of them --delete--> DELETED (gone: every later command is 404)
 *
 * Public base images are registered by the system (`RegisterSystemImage`, tenantId null) already
 * imported; re-registering one after a rebuild records the new Docker image id. Tenants cannot
 * delete them.
 *
 * Delete is refused with 409 `dependency_violation` while live instances use the image; the count
 * comes from the read model through the command. A delete during an import is allowed (the user
 * cancels); the importer, finding the image DELETED (404 on its record), removes what it imported.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import { uuidV5 } from '../../common/ids';
import type { Decider } from '../../kernel/decider';
import type { LaunchImage } from './instance';
import {
  imageNameProblems,
  importUrlProblems,
  textProblems,
  throwIfInvalid,
  type FieldProblem,
} from './validation';

export const IMAGE_CATEGORY = 'image';

export const IMAGE_STATUSES = ['PENDING', 'ACTIVE', 'ERROR', 'DELETED'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export type ImportSource = 'upload' | 'url';

export const IMAGE_DESCRIPTION_MAX_LENGTH = 1024;
export const IMAGE_OS_MAX_LENGTH = 32;
export const IMAGE_VERSION_MAX_LENGTH = 64;
export const IMPORT_FAILURE_REASON_MAX_LENGTH = 1024;

/** Deterministic id of a public base image, so start-up registers each one exactly once. */
export function systemImageId(name: string): string {
  return uuidV5(`image/system/${name}`);
}

// ---------------------------------------------------------------- commands

interface ImageMetadata {
  name: string;
  description: string | null;
  os: string | null;
  version: string | null;
}

export interface RegisterImage extends ImageMetadata {
  type: 'RegisterImage';
  imageId: string;
  tenantId: string;
  isPublic: boolean;
  /** `POST /images/import`: register and start downloading in one decision. */
  importUrl?: string;
  now: Date;
}

export interface RegisterSystemImage extends ImageMetadata {
  type: 'RegisterSystemImage';
  imageId: string;
  dockerImageId: string;
  sizeBytes: number;
  now: Date;
}

export interface StartImageImport {
  type: 'StartImageImport';
  source: ImportSource;
  /** Required for source 'url'. */
  url: string | null;
  now: Date;
}

export interface RecordImageImported {
  type: 'RecordImageImported';
  dockerImageId: string;
  sizeBytes: number;
  now: Date;
}

export interface RecordImageImportFailed {
  type: 'RecordImageImportFailed';
  reason: string;
  now: Date;
}

export interface DeleteImage {
  type: 'DeleteImage';
  /** Live (not TERMINATED) instances launched from this image, counted by the handler. */
  instancesUsingImage: number;
  now: Date;
}

export type ImageCommand =
  | RegisterImage
  | RegisterSystemImage
  | StartImageImport
  | RecordImageImported
  | RecordImageImportFailed
  | DeleteImage;

// ---------------------------------------------------------------- events

export type ImageEvent =
  | {
      type: 'ImageRegistered';
      data: ImageMetadata & {
        imageId: string;
        /** Null for the public base images of the system. */
        tenantId: string | null;
        isPublic: boolean;
        system: boolean;
        at: string;
      };
    }
  | {
      type: 'ImageImportStarted';
      data: { imageId: string; source: ImportSource; url: string | null; at: string };
    }
  | {
      type: 'ImageImported';
      data: { imageId: string; dockerImageId: string; sizeBytes: number; at: string };
    }
  | { type: 'ImageImportFailed'; data: { imageId: string; reason: string; at: string } }
  | {
      type: 'ImageDeleted';
      data: { imageId: string; dockerImageId: string | null; at: string };
    };

// ---------------------------------------------------------------- state

export interface ImageState extends ImageMetadata {
  status: 'NONE' | ImageStatus;
  imageId: string | null;
  tenantId: string | null;
  isPublic: boolean;
  system: boolean;
  /** The import under way, if any. */
  importing: { source: ImportSource; url: string | null; startedAt: string } | null;
  dockerImageId: string | null;
  sizeBytes: number | null;
  errorReason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export function initialImageState(): ImageState {
  return {
    status: 'NONE',
    imageId: null,
    tenantId: null,
    name: '',
    description: null,
    os: null,
    version: null,
    isPublic: false,
    system: false,
    importing: null,
    dockerImageId: null,
    sizeBytes: null,
    errorReason: null,
    createdAt: null,
    updatedAt: null,
  };
}

export function evolveImage(state: ImageState, event: ImageEvent): ImageState {
  const s: ImageState = { ...state, updatedAt: event.data.at };
  switch (event.type) {
    case 'ImageRegistered': {
      const d = event.data;
      return {
        ...initialImageState(),
        status: 'PENDING',
        imageId: d.imageId,
        tenantId: d.tenantId,
        name: d.name,
        description: d.description,
        os: d.os,
        version: d.version,
        isPublic: d.isPublic,
        system: d.system,
        createdAt: d.at,
        updatedAt: d.at,
      };
    }
    case 'ImageImportStarted':
      return {
        ...s,
        status: 'PENDING',
        errorReason: null,
        importing: { source: event.data.source, url: event.data.url, startedAt: event.data.at },
      };
    case 'ImageImported':
      return {
        ...s,
        status: 'ACTIVE',
        importing: null,
        errorReason: null,
        dockerImageId: event.data.dockerImageId,
        sizeBytes: event.data.sizeBytes,
      };
    case 'ImageImportFailed':
      return { ...s, status: 'ERROR', importing: null, errorReason: event.data.reason };
    case 'ImageDeleted':
      return { ...s, status: 'DELETED', importing: null };
    default:
      return state;
  }
}

// ---------------------------------------------------------------- decide

function metadataProblems(c: ImageMetadata): FieldProblem[] {
  return [
    ...imageNameProblems(c.name, 'name'),
    ...textProblems(c.description, 'description', IMAGE_DESCRIPTION_MAX_LENGTH),
    ...textProblems(c.os, 'os', IMAGE_OS_MAX_LENGTH),
    ...textProblems(c.version, 'version', IMAGE_VERSION_MAX_LENGTH),
  ];
}

function metadataOf(c: ImageMetadata): ImageMetadata {
  return {
    name: c.name,
    description: c.description ?? null,
    os: c.os ?? null,
    version: c.version ?? null,
  };
}

function importedProblems(dockerImageId: unknown, sizeBytes: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (typeof dockerImageId !== 'string' || dockerImageId === '') {
    problems.push({ path: 'dockerImageId', message: 'must not be empty' });
  }
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    problems.push({ path: 'sizeBytes', message: 'must be a non-negative integer' });
  }
  return problems;
}

function invalidImageState(status: ImageStatus, action: string, allowed: string): AppError {
  return AppError.invalidState(`image is ${status}; ${action} needs ${allowed}`, {
    status,
    action,
  });
}

function notFound(): AppError {
  return new AppError('not_found', 'image not found', { resource: 'image' });
}

export function decideImage(command: ImageCommand, state: ImageState): ImageEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterImage': {
      if (state.status !== 'NONE') {
        throw new AppError('conflict', `image ${command.imageId} already exists`, {
          resource: 'image',
          id: command.imageId,
        });
      }
      throwIfInvalid([
        ...metadataProblems(command),
        ...(command.importUrl !== undefined ? importUrlProblems(command.importUrl, 'url') : []),
      ]);
      const registered: ImageEvent = {
        type: 'ImageRegistered',
        data: {
          imageId: command.imageId,
          tenantId: command.tenantId,
          ...metadataOf(command),
          isPublic: command.isPublic,
          system: false,
          at,
        },
      };
      if (command.importUrl === undefined) return [registered];
      return [
        registered,
        {
          type: 'ImageImportStarted',
          data: { imageId: command.imageId, source: 'url', url: command.importUrl, at },
        },
      ];
    }
    case 'RegisterSystemImage': {
      throwIfInvalid([
        ...metadataProblems(command),
        ...importedProblems(command.dockerImageId, command.sizeBytes),
      ]);
      const imported: ImageEvent = {
        type: 'ImageImported',
        data: {
          imageId: command.imageId,
          dockerImageId: command.dockerImageId,
          sizeBytes: command.sizeBytes,
          at,
        },
      };
      if (state.status === 'NONE') {
        return [
          {
            type: 'ImageRegistered',
            data: {
              imageId: command.imageId,
              tenantId: null,
              ...metadataOf(command),
              isPublic: true,
              system: true,
              at,
            },
          },
          imported,
        ];
      }
      if (!state.system) {
        throw new AppError('conflict', `image ${command.imageId} exists and is not a system image`);
      }
      const same =
        state.status === 'ACTIVE' &&
        state.dockerImageId === command.dockerImageId &&
        state.sizeBytes === command.sizeBytes;
      return same ? [] : [imported];
    }
    case 'StartImageImport': {
      const status = existing(state);
      if (command.source === 'url') {
        throwIfInvalid(importUrlProblems(command.url, 'url'));
      }
      if (status === 'ACTIVE') {
        throw invalidImageState(
          status,
          command.source === 'url' ? 'import' : 'upload',
          'PENDING or ERROR',
        );
      }
      if (state.importing !== null) {
        throw AppError.invalidState('an import of this image is already in progress', {
          status,
          source: state.importing.source,
        });
      }
      return [
        {
          type: 'ImageImportStarted',
          data: {
            imageId: state.imageId as string,
            source: command.source,
            url: command.source === 'url' ? command.url : null,
            at,
          },
        },
      ];
    }
    case 'RecordImageImported': {
      const status = existing(state);
      throwIfInvalid(importedProblems(command.dockerImageId, command.sizeBytes));
      if (status === 'ACTIVE' && state.dockerImageId === command.dockerImageId) return [];
      if (state.importing === null) {
        throw invalidImageState(status, 'recording an import', 'an import in progress');
      }
      return [
        {
          type: 'ImageImported',
          data: {
            imageId: state.imageId as string,
            dockerImageId: command.dockerImageId,
            sizeBytes: command.sizeBytes,
            at,
          },
        },
      ];
    }
    case 'RecordImageImportFailed': {
      const status = existing(state);
      if (status === 'ERROR' && state.importing === null) return [];
      if (state.importing === null) {
        throw invalidImageState(status, 'recording an import failure', 'an import in progress');
      }
      const reason =
        command.reason.trim() === ''
          ? 'import failed'
          : command.reason.slice(0, IMPORT_FAILURE_REASON_MAX_LENGTH);
      return [
        { type: 'ImageImportFailed', data: { imageId: state.imageId as string, reason, at } },
      ];
    }
    case 'DeleteImage': {
      existing(state);
      if (state.system) {
        throw new AppError('forbidden', 'public base images are managed by Nimbus', {
          resource: 'image',
          id: state.imageId,
        });
      }
      if (command.instancesUsingImage > 0) {
        throw new AppError(
          'dependency_violation',
          `image is used by ${command.instancesUsingImage} instance(s); terminate them first`,
          { resource: 'image', id: state.imageId, instances: command.instancesUsingImage },
        );
      }
      return [
        {
          type: 'ImageDeleted',
          data: { imageId: state.imageId as string, dockerImageId: state.dockerImageId, at },
        },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

/** The status of an image that exists; 404 for one never registered or deleted. */
function existing(state: ImageState): Exclude<ImageStatus, 'DELETED'> {
  if (state.status === 'NONE' || state.status === 'DELETED') throw notFound();
  return state.status;
}

export const imageDecider: Decider<ImageCommand, ImageEvent, ImageState> = {
  category: IMAGE_CATEGORY,
  initialState: initialImageState,
  evolve: evolveImage,
  decide: decideImage,
};

// ---------------------------------------------------------------- helpers for handlers

/** Own images and public ones; deleted images are visible to nobody. */
export function imageVisibleTo(state: ImageState, tenantId: string): boolean {
  if (state.status === 'NONE' || state.status === 'DELETED') return false;
  return state.isPublic || state.tenantId === tenantId;
}

/** Only the owner (never for system images) may change or delete an image. */
export function imageOwnedBy(state: ImageState, tenantId: string): boolean {
  return imageVisibleTo(state, tenantId) && !state.system && state.tenantId === tenantId;
}

/**
 * The image a launch boots from: visible to the tenant and ACTIVE, else 400 on `image` (the issue:
 * an unknown image is a bad request, and so is one that cannot boot yet).
 */
export function launchImageFrom(state: ImageState, tenantId: string, field = 'image'): LaunchImage {
  if (!imageVisibleTo(state, tenantId)) {
    throw AppError.validation(`unknown image`, [{ path: field, message: 'unknown image' }]);
  }
  if (state.status !== 'ACTIVE' || state.dockerImageId === null) {
    throw AppError.validation(`image ${state.name} is ${state.status}; launch needs ACTIVE`, [
      { path: field, message: `image is ${state.status}; launch needs ACTIVE` },
    ]);
  }
  return { id: state.imageId, name: state.name, dockerImageId: state.dockerImageId };
}

/** An ACTIVE image visible to the caller whose name matched a launch's `image`. */
export interface ImageNameCandidate {
  id: string;
  tenantId: string | null;
  system: boolean;
  createdAt: Date;
}

export type ImageNameResolution =
  { kind: 'found'; id: string } | { kind: 'ambiguous'; ids: string[] } | { kind: 'unknown' };

/**
 * Which image a launch by name boots, in this order: the system image of that name (system names
 * are reserved, so no tenant can take one); else the caller's own image (the newest when several);
 * else the one public image of another tenant, and when several tenants publish that name the
 * launch is ambiguous (the caller launches by id instead).
 */
export function resolveImageName(
  candidates: readonly ImageNameCandidate[],
  tenantId: string,
): ImageNameResolution {
  const system = candidates.find((c) => c.system);
  if (system) return { kind: 'found', id: system.id };
  const newestFirst = (a: ImageNameCandidate, b: ImageNameCandidate) =>
    b.createdAt.getTime() - a.createdAt.getTime() || a.id.localeCompare(b.id);
  const own = candidates.filter((c) => c.tenantId === tenantId).sort(newestFirst);
  if (own.length > 0) return { kind: 'found', id: own[0].id };
  const others = candidates.filter((c) => c.tenantId !== tenantId).sort(newestFirst);
  if (others.length === 1) return { kind: 'found', id: others[0].id };
  if (others.length > 1) return { kind: 'ambiguous', ids: others.map((c) => c.id) };
  return { kind: 'unknown' };
}

/** 409 when a tenant names an image like a system image (system names are reserved). */
export function reservedImageNameError(name: string): AppError {
  return new AppError(
    'conflict',
    `the image name "${name}" is reserved: a system image has it (launching by that name boots the system image); choose another name`,
    { name },
  );
}
