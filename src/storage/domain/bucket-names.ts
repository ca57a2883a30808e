/**
 * Bucket names across all tenants (one stream, `bucket-names-global`): which name is held by
 * which bucket of which tenant. Creating a bucket reserves its name here first; two creations
 * racing for one name conflict on append, the loser decides again on the new state and is told
 * whose the name is, so a name is never given twice, without locks and across processes.
 *
 * - A name held by another tenant: 409 `bucket_already_exists` (it says nothing else about the
 *   holder). Held by another bucket of the caller's tenant: 409 `bucket_already_owned_by_you`.
 * - Reserving again for the same bucket is a no-op (a retried request); releasing a name the
 *   bucket does not hold is a no-op. A deleted bucket's name is released and may be taken again.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';

export const BUCKET_NAMES_CATEGORY = 'bucket-names';
/** The id of the one registry (its stream is `bucket-names-global`). */
export const BUCKET_NAMES_ID = 'global';

export interface BucketNameHolder {
  bucketId: string;
  tenantId: string;
}

export interface ReserveBucketName {
  type: 'ReserveBucketName';
  name: string;
  bucketId: string;
  tenantId: string;
  now: Date;
}

export interface ReleaseBucketName {
  type: 'ReleaseBucketName';
  name: string;
  bucketId: string;
  now: Date;
}

export type BucketNamesCommand = ReserveBucketName | ReleaseBucketName;

export type BucketNamesEvent =
  | {
      type: 'BucketNameReserved';
      data: { name: string; bucketId: string; tenantId: string; at: string };
    }
  | { type: 'BucketNameReleased'; data: { name: string; bucketId: string; at: string } };

export interface BucketNamesState {
  /** name -> holder */
  held: Readonly<Record<string, BucketNameHolder>>;
}

export function initialBucketNamesState(): BucketNamesState {
  return { held: {} };
}

export function evolveBucketNames(
  state: BucketNamesState,
  event: BucketNamesEvent,
): BucketNamesState {
  switch (event.type) {
    case 'BucketNameReserved':
      return {
        held: {
          ...state.held,
          [event.data.name]: { bucketId: event.data.bucketId, tenantId: event.data.tenantId },
        },
      };
    case 'BucketNameReleased': {
      if (state.held[event.data.name]?.bucketId !== event.data.bucketId) return state;
      const { [event.data.name]: _gone, ...rest } = state.held;
      return { held: rest };
    }
    default:
      return state;
  }
}

export function decideBucketNames(
  command: BucketNamesCommand,
  state: BucketNamesState,
): BucketNamesEvent[] {
  const at = command.now.toISOString();
  const holder = Object.prototype.hasOwnProperty.call(state.held, command.name)
    ? state.held[command.name]
    : undefined;
  switch (command.type) {
    case 'ReserveBucketName': {
      if (holder?.bucketId === command.bucketId) return [];
      if (holder && holder.tenantId === command.tenantId) {
        throw new AppError(
          'bucket_already_owned_by_you',
          `you already have a bucket named ${command.name}`,
          { resource: 'bucket', name: command.name },
        );
      }
      if (holder) {
        throw new AppError(
          'bucket_already_exists',
          `the bucket name ${command.name} is taken; bucket names are unique across all tenants`,
          { resource: 'bucket', name: command.name },
        );
      }
      return [
        {
          type: 'BucketNameReserved',
          data: { name: command.name, bucketId: command.bucketId, tenantId: command.tenantId, at },
        },
      ];
    }
    case 'ReleaseBucketName':
      if (holder?.bucketId !== command.bucketId) return [];
      return [
        {
          type: 'BucketNameReleased',
          data: { name: command.name, bucketId: command.bucketId, at },
        },
      ];
    default:
      return assertUnreachable(command);
  }
}

export const bucketNamesDecider: Decider<BucketNamesCommand, BucketNamesEvent, BucketNamesState> = {
  category: BUCKET_NAMES_CATEGORY,
  initialState: initialBucketNamesState,
  evolve: evolveBucketNames,
  decide: decideBucketNames,
};
