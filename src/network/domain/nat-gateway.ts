/**
 * The NAT gateway aggregate (stream `nat-gateway-<natGatewayId>`), provisioned by a saga: the
 * request is recorded `pending` before any effect, the saga takes the elastic IP, writes the
 * `snat` and waits for OVN to realize it, then records the outcome.
 *
 *   (create) -> pending -> active
 *                       -> failed (failure_code)
 *   pending | active | failed --delete--> deleting -> deleted
 *
 * Saga records are idempotent, and ignored once a delete has started (the saga's effect is then
 * undone by the teardown): a `Record...` never throws for a late arrival.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { notFound } from './rules';

export const NAT_GATEWAY_CATEGORY = 'nat-gateway';

export const NAT_FAILURE_CODES = [
  'no_internet_gateway',
  'elastic_ip_in_use',
  'elastic_ip_not_found',
  'subnet_not_found',
  'provisioning_failed',
] as const;
export type NatFailureCode = (typeof NAT_FAILURE_CODES)[number];

export interface CreateNatGateway {
  type: 'CreateNatGateway';
  natGatewayId: string;
  tenantId: string;
  vpcId: string;
  subnetId: string;
  eipId: string;
  /** Allocated from the subnet by the handler (the gateway's own address). */
  privateIp: string;
  now: Date;
}

export interface RecordNatGatewayActive {
  type: 'RecordNatGatewayActive';
  publicIp: string;
  now: Date;
}

export interface RecordNatGatewayFailed {
  type: 'RecordNatGatewayFailed';
  failureCode: NatFailureCode;
  failureMessage: string;
  now: Date;
}

export interface DeleteNatGateway {
  type: 'DeleteNatGateway';
  now: Date;
}

export interface RecordNatGatewayDeleted {
  type: 'RecordNatGatewayDeleted';
  now: Date;
}

export type NatGatewayCommand =
  | CreateNatGateway
  | RecordNatGatewayActive
  | RecordNatGatewayFailed
  | DeleteNatGateway
  | RecordNatGatewayDeleted;

export type NatGatewayEvent =
  | {
      type: 'NatGatewayCreated';
      data: {
        natGatewayId: string;
        tenantId: string;
        vpcId: string;
        subnetId: string;
        eipId: string;
        privateIp: string;
        at: string;
      };
    }
  | { type: 'NatGatewayActivated'; data: { natGatewayId: string; publicIp: string; at: string } }
  | {
      type: 'NatGatewayFailed';
      data: {
        natGatewayId: string;
        failureCode: NatFailureCode;
        failureMessage: string;
        at: string;
      };
    }
  | {
      type: 'NatGatewayDeletionStarted';
      data: { natGatewayId: string; previousStatus: 'pending' | 'active' | 'failed'; at: string };
    }
  | { type: 'NatGatewayDeleted'; data: { natGatewayId: string; eipId: string; at: string } };

export type NatGatewayStatus = 'pending' | 'active' | 'failed' | 'deleting' | 'deleted';

export interface NatGatewayState {
  status: 'none' | NatGatewayStatus;
  natGatewayId: string | null;
  tenantId: string | null;
  vpcId: string | null;
  subnetId: string | null;
  eipId: string | null;
  privateIp: string | null;
  publicIp: string | null;
  failureCode: NatFailureCode | null;
  failureMessage: string | null;
}

export function initialNatGatewayState(): NatGatewayState {
  return {
    status: 'none',
    natGatewayId: null,
    tenantId: null,
    vpcId: null,
    subnetId: null,
    eipId: null,
    privateIp: null,
    publicIp: null,
    failureCode: null,
    failureMessage: null,
  };
}

export function evolveNatGateway(state: NatGatewayState, event: NatGatewayEvent): NatGatewayState {
  switch (event.type) {
    case 'NatGatewayCreated':
      return {
        ...initialNatGatewayState(),
        status: 'pending',
        natGatewayId: event.data.natGatewayId,
        tenantId: event.data.tenantId,
        vpcId: event.data.vpcId,
        subnetId: event.data.subnetId,
        eipId: event.data.eipId,
        privateIp: event.data.privateIp,
      };
    case 'NatGatewayActivated':
      return { ...state, status: 'active', publicIp: event.data.publicIp };
    case 'NatGatewayFailed':
      return {
        ...state,
        status: 'failed',
        failureCode: event.data.failureCode,
        failureMessage: event.data.failureMessage,
      };
    case 'NatGatewayDeletionStarted':
      return { ...state, status: 'deleting' };
    case 'NatGatewayDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

export function decideNatGateway(
  command: NatGatewayCommand,
  state: NatGatewayState,
): NatGatewayEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateNatGateway') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `NAT gateway ${command.natGatewayId} already exists`, {
        resource: 'nat_gateway',
        id: command.natGatewayId,
      });
    }
    const { type: _type, now: _now, ...data } = command;
    return [{ type: 'NatGatewayCreated', data: { ...data, at } }];
  }
  if (state.status === 'none') throw notFound('nat_gateway');
  const natGatewayId = state.natGatewayId as string;

  switch (command.type) {
    case 'RecordNatGatewayActive':
      if (state.status !== 'pending') return [];
      return [
        { type: 'NatGatewayActivated', data: { natGatewayId, publicIp: command.publicIp, at } },
      ];
    case 'RecordNatGatewayFailed':
      if (state.status !== 'pending') return [];
      return [
        {
          type: 'NatGatewayFailed',
          data: {
            natGatewayId,
            failureCode: command.failureCode,
            failureMessage: command.failureMessage,
            at,
          },
        },
      ];
    case 'DeleteNatGateway':
      if (state.status === 'deleting' || state.status === 'deleted') return [];
      return [
        {
          type: 'NatGatewayDeletionStarted',
          data: { natGatewayId, previousStatus: state.status, at },
        },
      ];
    case 'RecordNatGatewayDeleted':
      if (state.status === 'deleted') return [];
      if (state.status !== 'deleting') {
        throw AppError.invalidState(
          `NAT gateway ${natGatewayId} is ${state.status}, not deleting`,
          {
            resource: 'nat_gateway',
            id: natGatewayId,
            status: state.status,
          },
        );
      }
      return [
        { type: 'NatGatewayDeleted', data: { natGatewayId, eipId: state.eipId as string, at } },
      ];
    default:
      return assertUnreachable(command);
  }
}

export const natGatewayDecider: Decider<NatGatewayCommand, NatGatewayEvent, NatGatewayState> = {
  category: NAT_GATEWAY_CATEGORY,
  initialState: initialNatGatewayState,
  evolve: evolveNatGateway,
  decide: decideNatGateway,
};
