/**
 * The VPC peering aggregate (stream `vpc-peering-<peeringId>`), driven by a saga.
 *
 *   (request) -> pending-acceptance --accept--> provisioning -> active
 *                                                            -> failed (failure_code)
 *             pending-acceptance --reject--> rejected
 *             pending-acceptance --timeout--> expired
 *   pending-acceptance | provisioning | active | failed --delete--> deleting -> deleted
 *
 * - Request: self-peering and overlapping blocks are 400; a second pending or active peering of
 *   the same pair (either direction; the handler passes them) is 409 conflict.
 * - Accept and reject belong to the accepter VPC's owner (the requester gets 403); when not
 *   pending they are 409 invalid_state.
 * - Expire only acts on a pending request (a late timeout is a no-op); saga records are
 *   idempotent and ignored once a delete has started.
 * - Rejected and expired peerings are final; delete on them, or on a deleting or deleted one, is
 *   a no-op.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { peeringCidrProblem } from './cidr';
import { notAllowedIn, notFound, throwIfInvalid, type FieldProblem } from './rules';

export const VPC_PEERING_CATEGORY = 'vpc-peering';
/** How long a request waits for acceptance by default. */
export const DEFAULT_PEERING_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;

export interface PeeringSideInfo {
  vpcId: string;
  tenantId: string;
  cidrBlock: string;
}

export interface RequestVpcPeering {
  type: 'RequestVpcPeering';
  peeringId: string;
  requester: PeeringSideInfo;
  accepter: PeeringSideInfo;
  /** Pending or active peerings of the same two VPCs, in either direction. */
  livePeeringsOfPair: readonly string[];
  expiresAt: Date;
  now: Date;
}

export interface AcceptVpcPeering {
  type: 'AcceptVpcPeering';
  /** The caller's tenant. */
  tenantId: string;
  now: Date;
}

export interface RejectVpcPeering {
  type: 'RejectVpcPeering';
  tenantId: string;
  now: Date;
}

export interface ExpireVpcPeering {
  type: 'ExpireVpcPeering';
  now: Date;
}

export interface RecordVpcPeeringActive {
  type: 'RecordVpcPeeringActive';
  now: Date;
}

export interface RecordVpcPeeringFailed {
  type: 'RecordVpcPeeringFailed';
  failureCode: string;
  failureMessage: string;
  now: Date;
}

export interface DeleteVpcPeering {
  type: 'DeleteVpcPeering';
  now: Date;
}

export interface RecordVpcPeeringDeleted {
  type: 'RecordVpcPeeringDeleted';
  now: Date;
}

export type VpcPeeringCommand =
  | RequestVpcPeering
  | AcceptVpcPeering
  | RejectVpcPeering
  | ExpireVpcPeering
  | RecordVpcPeeringActive
  | RecordVpcPeeringFailed
  | DeleteVpcPeering
  | RecordVpcPeeringDeleted;

export type VpcPeeringStatus =
  | 'pending-acceptance'
  | 'provisioning'
  | 'active'
  | 'failed'
  | 'rejected'
  | 'expired'
  | 'deleting'
  | 'deleted';

export type VpcPeeringEvent =
  | {
      type: 'VpcPeeringRequested';
      data: {
        peeringId: string;
        requester: PeeringSideInfo;
        accepter: PeeringSideInfo;
        expiresAt: string;
        at: string;
      };
    }
  | { type: 'VpcPeeringAccepted'; data: { peeringId: string; at: string } }
  | { type: 'VpcPeeringRejected'; data: { peeringId: string; at: string } }
  | { type: 'VpcPeeringExpired'; data: { peeringId: string; at: string } }
  | { type: 'VpcPeeringActivated'; data: { peeringId: string; at: string } }
  | {
      type: 'VpcPeeringFailed';
      data: { peeringId: string; failureCode: string; failureMessage: string; at: string };
    }
  | {
      type: 'VpcPeeringDeletionStarted';
      data: { peeringId: string; previousStatus: VpcPeeringStatus; at: string };
    }
  | { type: 'VpcPeeringDeleted'; data: { peeringId: string; at: string } };

export interface VpcPeeringState {
  status: 'none' | VpcPeeringStatus;
  peeringId: string | null;
  requester: PeeringSideInfo | null;
  accepter: PeeringSideInfo | null;
  expiresAt: string | null;
  failureCode: string | null;
}

export function initialVpcPeeringState(): VpcPeeringState {
  return {
    status: 'none',
    peeringId: null,
    requester: null,
    accepter: null,
    expiresAt: null,
    failureCode: null,
  };
}

export function evolveVpcPeering(state: VpcPeeringState, event: VpcPeeringEvent): VpcPeeringState {
  switch (event.type) {
    case 'VpcPeeringRequested':
      return {
        status: 'pending-acceptance',
        peeringId: event.data.peeringId,
        requester: event.data.requester,
        accepter: event.data.accepter,
        expiresAt: event.data.expiresAt,
        failureCode: null,
      };
    case 'VpcPeeringAccepted':
      return { ...state, status: 'provisioning' };
    case 'VpcPeeringRejected':
      return { ...state, status: 'rejected' };
    case 'VpcPeeringExpired':
      return { ...state, status: 'expired' };
    case 'VpcPeeringActivated':
      return { ...state, status: 'active' };
    case 'VpcPeeringFailed':
      return { ...state, status: 'failed', failureCode: event.data.failureCode };
    case 'VpcPeeringDeletionStarted':
      return { ...state, status: 'deleting' };
    case 'VpcPeeringDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

const PENDING = 'pending-acceptance';

export function decideVpcPeering(
  command: VpcPeeringCommand,
  state: VpcPeeringState,
): VpcPeeringEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'RequestVpcPeering') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `VPC peering ${command.peeringId} already exists`, {
        resource: 'vpc_peering',
        id: command.peeringId,
      });
    }
    const problems: FieldProblem[] = [];
    if (command.requester.vpcId === command.accepter.vpcId) {
      problems.push({ path: 'accepter_vpc_id', message: 'must differ from requester_vpc_id' });
    } else {
      const overlap = peeringCidrProblem(command.requester.cidrBlock, command.accepter.cidrBlock);
      if (overlap) problems.push({ path: 'accepter_vpc_id', message: overlap });
    }
    throwIfInvalid(problems);
    if (command.livePeeringsOfPair.length > 0) {
      throw new AppError(
        'conflict',
        `VPCs ${command.requester.vpcId} and ${command.accepter.vpcId} already have a pending or active peering (${command.livePeeringsOfPair.join(', ')})`,
        { resource: 'vpc_peering', id: command.livePeeringsOfPair[0] },
      );
    }
    return [
      {
        type: 'VpcPeeringRequested',
        data: {
          peeringId: command.peeringId,
          requester: command.requester,
          accepter: command.accepter,
          expiresAt: command.expiresAt.toISOString(),
          at,
        },
      },
    ];
  }
  if (state.status === 'none') throw notFound('vpc_peering');
  const peeringId = state.peeringId as string;
  const accepterTenant = state.accepter?.tenantId;

  switch (command.type) {
    case 'AcceptVpcPeering':
    case 'RejectVpcPeering': {
      const action = command.type === 'AcceptVpcPeering' ? 'accept' : 'reject';
      if (command.tenantId !== accepterTenant) {
        throw new AppError(
          'forbidden',
          `only the owner of the accepter VPC ${state.accepter?.vpcId} can ${action} this peering`,
          { resource: 'vpc_peering', id: peeringId },
        );
      }
      if (state.status !== PENDING)
        throw notAllowedIn('vpc_peering', state.status, action, [PENDING]);
      return [
        {
          type: action === 'accept' ? 'VpcPeeringAccepted' : 'VpcPeeringRejected',
          data: { peeringId, at },
        },
      ];
    }
    case 'ExpireVpcPeering':
      if (state.status !== PENDING) return [];
      return [{ type: 'VpcPeeringExpired', data: { peeringId, at } }];
    case 'RecordVpcPeeringActive':
      if (state.status !== 'provisioning') return [];
      return [{ type: 'VpcPeeringActivated', data: { peeringId, at } }];
    case 'RecordVpcPeeringFailed':
      if (state.status !== 'provisioning') return [];
      return [
        {
          type: 'VpcPeeringFailed',
          data: {
            peeringId,
            failureCode: command.failureCode,
            failureMessage: command.failureMessage,
            at,
          },
        },
      ];
    case 'DeleteVpcPeering':
      if (
        state.status === 'deleting' ||
        state.status === 'deleted' ||
        state.status === 'rejected' ||
        state.status === 'expired'
      ) {
        return [];
      }
      return [
        {
          type: 'VpcPeeringDeletionStarted',
          data: { peeringId, previousStatus: state.status, at },
        },
      ];
    case 'RecordVpcPeeringDeleted':
      if (state.status === 'deleted') return [];
      if (state.status !== 'deleting') {
        throw notAllowedIn('vpc_peering', state.status, 'record deleted', ['deleting']);
      }
      return [{ type: 'VpcPeeringDeleted', data: { peeringId, at } }];
    default:
      return assertUnreachable(command);
  }
}

export const vpcPeeringDecider: Decider<VpcPeeringCommand, VpcPeeringEvent, VpcPeeringState> = {
  category: VPC_PEERING_CATEGORY,
  initialState: initialVpcPeeringState,
  evolve: evolveVpcPeering,
  decide: decideVpcPeering,
};

/** Both tenants see a peering; nobody else does. */
export function vpcPeeringVisibleTo(state: VpcPeeringState, tenantId: string): boolean {
  return (
    state.status !== 'none' &&
    (state.requester?.tenantId === tenantId || state.accepter?.tenantId === tenantId)
  );
}
