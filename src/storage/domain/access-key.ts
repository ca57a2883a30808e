/**
 * An S3 access key (stream `storage-access-key-<id>`): the pair an S3 client signs requests with
 * (AWS Signature V4). It acts in its tenant with the IAM permissions of the user who created it.
 * SigV4 needs the secret itself on the server, so the events carry it sealed (AES-256-GCM under a
 * key derived from the master key, bound to the key's id), never in clear.
 *
 *   (create) -> ACTIVE --delete--> DELETED
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';

export const ACCESS_KEY_CATEGORY = 'storage-access-key';

/** AWS's shape: 20 upper-case letters and digits. */
export const ACCESS_KEY_ID_PATTERN = /^NIMB[A-Z2-7]{16}$/;

export interface CreateAccessKey {
  type: 'CreateAccessKey';
  id: string;
  tenantId: string;
  /** The user whose IAM permissions the key has. */
  userId: string;
  accessKeyId: string;
  sealedSecret: string;
  now: Date;
}

export interface DeleteAccessKey {
  type: 'DeleteAccessKey';
  now: Date;
}

export type AccessKeyCommand = CreateAccessKey | DeleteAccessKey;

export type AccessKeyEvent =
  | {
      type: 'S3AccessKeyCreated';
      data: {
        id: string;
        tenantId: string;
        userId: string;
        accessKeyId: string;
        sealedSecret: string;
        at: string;
      };
    }
  | {
      type: 'S3AccessKeyDeleted';
      data: { id: string; tenantId: string; accessKeyId: string; at: string };
    };

export interface AccessKeyState {
  status: 'NONE' | 'ACTIVE' | 'DELETED';
  id: string | null;
  tenantId: string | null;
  userId: string | null;
  accessKeyId: string | null;
}

export function initialAccessKeyState(): AccessKeyState {
  return { status: 'NONE', id: null, tenantId: null, userId: null, accessKeyId: null };
}

export function evolveAccessKey(state: AccessKeyState, event: AccessKeyEvent): AccessKeyState {
  switch (event.type) {
    case 'S3AccessKeyCreated':
      return {
        status: 'ACTIVE',
        id: event.data.id,
        tenantId: event.data.tenantId,
        userId: event.data.userId,
        accessKeyId: event.data.accessKeyId,
      };
    case 'S3AccessKeyDeleted':
      return { ...state, status: 'DELETED' };
    default:
      return state;
  }
}

export function decideAccessKey(
  command: AccessKeyCommand,
  state: AccessKeyState,
): AccessKeyEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'CreateAccessKey': {
      if (state.status !== 'NONE') {
        // The same command again (a retried request): nothing new.
        if (state.accessKeyId === command.accessKeyId) return [];
        throw new AppError('conflict', `access key ${command.id} already exists`);
      }
      if (!ACCESS_KEY_ID_PATTERN.test(command.accessKeyId)) {
        throw AppError.validation('malformed access key id', [
          { path: 'access_key_id', message: 'must be NIMB and 16 base32 characters' },
        ]);
      }
      return [
        {
          type: 'S3AccessKeyCreated',
          data: {
            id: command.id,
            tenantId: command.tenantId,
            userId: command.userId,
            accessKeyId: command.accessKeyId,
            sealedSecret: command.sealedSecret,
            at,
          },
        },
      ];
    }
    case 'DeleteAccessKey': {
      if (state.status !== 'ACTIVE' || state.id === null || state.tenantId === null) {
        throw AppError.notFound('access_key', state.id ?? 'unknown');
      }
      return [
        {
          type: 'S3AccessKeyDeleted',
          data: {
            id: state.id,
            tenantId: state.tenantId,
            accessKeyId: state.accessKeyId ?? '',
            at,
          },
        },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const accessKeyDecider: Decider<AccessKeyCommand, AccessKeyEvent, AccessKeyState> = {
  category: ACCESS_KEY_CATEGORY,
  initialState: initialAccessKeyState,
  evolve: evolveAccessKey,
  decide: decideAccessKey,
};
