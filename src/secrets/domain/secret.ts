/**
 * The secret aggregate (stream `secret-<secretId>`): a named value of a tenant, held only sealed
 * (AES-256-GCM under a data key of its own, the data key wrapped by the master key): the decider
 * never sees the plaintext, so no event can carry it.
 *
 *   (create) -> active --rotate--> active (version + 1)
 *   active --delete--> deleted --create (same name)--> active (version continues)
 *
 * The id is derived from the tenant and the name, so a name is unique per tenant by the stream.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';

export const SECRET_CATEGORY = 'secret';

/** Letters, digits, `.`, `_`, `-` and `/`, 1 to 128, starting with a letter or digit. */
export const SECRET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
export const SECRET_VALUE_MAX_BYTES = 64 * 1024;

/** Who created the secret: a caller, or a context storing its resources' credentials. */
export interface SecretOwner {
  kind: 'user' | 'database' | 'cache';
  id: string | null;
}

export interface CreateSecret {
  type: 'CreateSecret';
  secretId: string;
  tenantId: string;
  name: string;
  description: string;
  owner: SecretOwner;
  /** The sealed value (see the application's SecretSealer); never the plaintext. */
  sealed: string;
  now: Date;
}

export interface RotateSecret {
  type: 'RotateSecret';
  sealed: string;
  now: Date;
}

export interface DeleteSecret {
  type: 'DeleteSecret';
  now: Date;
}

export type SecretCommand = CreateSecret | RotateSecret | DeleteSecret;

export type SecretEvent =
  | {
      type: 'SecretCreated';
      data: {
        secretId: string;
        tenantId: string;
        name: string;
        description: string;
        owner: SecretOwner;
        version: number;
        sealed: string;
        at: string;
      };
    }
  | {
      type: 'SecretRotated';
      data: { secretId: string; version: number; sealed: string; at: string };
    }
  | { type: 'SecretDeleted'; data: { secretId: string; version: number; at: string } };

export interface SecretState {
  status: 'none' | 'active' | 'deleted';
  secretId: string | null;
  tenantId: string | null;
  name: string | null;
  description: string;
  owner: SecretOwner | null;
  version: number;
  sealed: string | null;
  rotatedAt: string | null;
}

export function initialSecretState(): SecretState {
  return {
    status: 'none',
    secretId: null,
    tenantId: null,
    name: null,
    description: '',
    owner: null,
    version: 0,
    sealed: null,
    rotatedAt: null,
  };
}

export function evolveSecret(state: SecretState, event: SecretEvent): SecretState {
  switch (event.type) {
    case 'SecretCreated':
      return {
        status: 'active',
        secretId: event.data.secretId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        description: event.data.description,
        owner: event.data.owner,
        version: event.data.version,
        sealed: event.data.sealed,
        rotatedAt: null,
      };
    case 'SecretRotated':
      return {
        ...state,
        version: event.data.version,
        sealed: event.data.sealed,
        rotatedAt: event.data.at,
      };
    case 'SecretDeleted':
      return { ...state, status: 'deleted', sealed: null };
    default:
      return state;
  }
}

export function validateSecretName(name: string): void {
  if (!SECRET_NAME_RE.test(name)) {
    throw AppError.validation('name is not a valid secret name', [
      {
        path: 'name',
        message:
          'name must be 1 to 128 letters, digits, ".", "_", "-" or "/", starting with a letter or digit',
      },
    ]);
  }
}

export function decideSecret(command: SecretCommand, state: SecretState): SecretEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateSecret') {
    validateSecretName(command.name);
    if (state.status === 'active') {
      throw new AppError('conflict', `a secret named ${command.name} already exists`, {
        resource: 'secret',
        name: command.name,
        id: command.secretId,
      });
    }
    return [
      {
        type: 'SecretCreated',
        data: {
          secretId: command.secretId,
          tenantId: command.tenantId,
          name: command.name,
          description: command.description,
          owner: command.owner,
          version: state.version + 1,
          sealed: command.sealed,
          at,
        },
      },
    ];
  }
  if (state.status !== 'active') throw AppError.notFound('secret', state.secretId ?? 'unknown');
  const secretId = state.secretId as string;
  switch (command.type) {
    case 'RotateSecret':
      return [
        {
          type: 'SecretRotated',
          data: { secretId, version: state.version + 1, sealed: command.sealed, at },
        },
      ];
    case 'DeleteSecret':
      return [{ type: 'SecretDeleted', data: { secretId, version: state.version, at } }];
  }
}

export const secretDecider: Decider<SecretCommand, SecretEvent, SecretState> = {
  category: SECRET_CATEGORY,
  initialState: initialSecretState,
  evolve: evolveSecret,
  decide: decideSecret,
};
