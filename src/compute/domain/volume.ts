/**
 * The volume aggregate (stream `volume-<volumeId>`), backed by a Docker volume.
 *
 *   (create) -> AVAILABLE --attach--> IN_USE --detach--> AVAILABLE --delete--> DELETED
 *
 * A volume is attached to at most one instance at a time, at one mount path.
 *
 * Choices:
 * - Delete while IN_USE is 409 `dependency_violation` (an instance depends on the volume; detach
 *   it or terminate the instance first), with the instance id in details. A DELETED volume is
 *   gone: every command on it is 404.
 * - Attach repeated with the same instance and path is a no-op (the launch saga re-running a step);
 *   attach to another instance, or at another path, is 409 `invalid_state`.
 * - Detach (the caller's intent, no instance named) of a volume that is not attached is 409
 *   `invalid_state`. A detach naming an instance the volume is not attached to is a no-op: the
 *   compensation of a failed launch only wants "not attached to *this* instance", and must never
 *   detach the volume from someone else.
 *
 * Docker cannot change the mounts of an existing container: the handler re-creates the instance's
 * container with the new mount set (RUNNING or STOPPED instances only, see the compute README) and
 * the instance records it (InstanceVolumesChanged); this aggregate only records the facts.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import {
  mountPathProblems,
  normalizeMountPath,
  throwIfInvalid,
  volumeNameProblems,
  volumeSizeProblems,
} from './validation';

export const VOLUME_CATEGORY = 'volume';

export const VOLUME_STATUSES = ['AVAILABLE', 'IN_USE', 'DELETED'] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

export interface CreateVolume {
  type: 'CreateVolume';
  volumeId: string;
  tenantId: string;
  name: string;
  sizeGb: number;
  now: Date;
}

export interface AttachVolume {
  type: 'AttachVolume';
  instanceId: string;
  mountPath: string;
  now: Date;
}

export interface DetachVolume {
  type: 'DetachVolume';
  /** When given, detach only from this instance (compensation); otherwise from whichever. */
  instanceId?: string;
  now: Date;
}

export interface DeleteVolume {
  type: 'DeleteVolume';
  now: Date;
}

export type VolumeCommand = CreateVolume | AttachVolume | DetachVolume | DeleteVolume;

export type VolumeEvent =
  | {
      type: 'VolumeCreated';
      data: { volumeId: string; tenantId: string; name: string; sizeGb: number; at: string };
    }
  | {
      type: 'VolumeAttached';
      data: { volumeId: string; instanceId: string; mountPath: string; at: string };
    }
  | {
      type: 'VolumeDetached';
      data: { volumeId: string; instanceId: string; mountPath: string; at: string };
    }
  | { type: 'VolumeDeleted'; data: { volumeId: string; sizeGb: number; at: string } };

export interface VolumeState {
  status: 'NONE' | VolumeStatus;
  volumeId: string | null;
  tenantId: string | null;
  name: string;
  sizeGb: number;
  attachment: { instanceId: string; mountPath: string } | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export function initialVolumeState(): VolumeState {
  return {
    status: 'NONE',
    volumeId: null,
    tenantId: null,
    name: '',
    sizeGb: 0,
    attachment: null,
    createdAt: null,
    updatedAt: null,
  };
}

export function evolveVolume(state: VolumeState, event: VolumeEvent): VolumeState {
  switch (event.type) {
    case 'VolumeCreated':
      return {
        ...initialVolumeState(),
        status: 'AVAILABLE',
        volumeId: event.data.volumeId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        sizeGb: event.data.sizeGb,
        createdAt: event.data.at,
        updatedAt: event.data.at,
      };
    case 'VolumeAttached':
      return {
        ...state,
        status: 'IN_USE',
        attachment: { instanceId: event.data.instanceId, mountPath: event.data.mountPath },
        updatedAt: event.data.at,
      };
    case 'VolumeDetached':
      return { ...state, status: 'AVAILABLE', attachment: null, updatedAt: event.data.at };
    case 'VolumeDeleted':
      return { ...state, status: 'DELETED', attachment: null, updatedAt: event.data.at };
    default:
      return state;
  }
}

function notFound(): AppError {
  return new AppError('not_found', 'volume not found', { resource: 'volume' });
}

export function decideVolume(command: VolumeCommand, state: VolumeState): VolumeEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateVolume') {
    if (state.status !== 'NONE') {
      throw new AppError('conflict', `volume ${command.volumeId} already exists`, {
        resource: 'volume',
        id: command.volumeId,
      });
    }
    throwIfInvalid([
      ...volumeNameProblems(command.name, 'name'),
      ...volumeSizeProblems(command.sizeGb, 'size_gb'),
    ]);
    return [
      {
        type: 'VolumeCreated',
        data: {
          volumeId: command.volumeId,
          tenantId: command.tenantId,
          name: command.name,
          sizeGb: command.sizeGb,
          at,
        },
      },
    ];
  }
  if (state.status === 'NONE' || state.status === 'DELETED') throw notFound();
  const volumeId = state.volumeId as string;
  const attachment = state.attachment;

  switch (command.type) {
    case 'AttachVolume': {
      throwIfInvalid(mountPathProblems(command.mountPath, 'mount_path'));
      const mountPath = normalizeMountPath(command.mountPath);
      if (attachment !== null) {
        if (attachment.instanceId === command.instanceId && attachment.mountPath === mountPath) {
          return [];
        }
        throw AppError.invalidState(
          `volume is IN_USE (attached to instance ${attachment.instanceId} at ${attachment.mountPath}); attach needs AVAILABLE`,
          { status: state.status, action: 'attach', allowed: ['AVAILABLE'], ...attachment },
        );
      }
      return [
        {
          type: 'VolumeAttached',
          data: { volumeId, instanceId: command.instanceId, mountPath, at },
        },
      ];
    }
    case 'DetachVolume': {
      if (attachment === null) {
        if (command.instanceId !== undefined) return [];
        throw AppError.invalidState(`volume ${volumeId} is not attached to any instance`, {
          volume_id: volumeId,
          status: 'AVAILABLE',
        });
      }
      if (command.instanceId !== undefined && command.instanceId !== attachment.instanceId) {
        return [];
      }
      return [{ type: 'VolumeDetached', data: { volumeId, ...attachment, at } }];
    }
    case 'DeleteVolume': {
      if (attachment !== null) {
        throw new AppError(
          'dependency_violation',
          `volume is attached to instance ${attachment.instanceId}; detach it or terminate the instance first`,
          { resource: 'volume', id: volumeId, instanceId: attachment.instanceId },
        );
      }
      return [{ type: 'VolumeDeleted', data: { volumeId, sizeGb: state.sizeGb, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const volumeDecider: Decider<VolumeCommand, VolumeEvent, VolumeState> = {
  category: VOLUME_CATEGORY,
  initialState: initialVolumeState,
  evolve: evolveVolume,
  decide: decideVolume,
};

/** Another tenant's volume (or a deleted one) is 404 to the caller. */
export function volumeVisibleTo(state: VolumeState, tenantId: string): boolean {
  return state.status !== 'NONE' && state.status !== 'DELETED' && state.tenantId === tenantId;
}
