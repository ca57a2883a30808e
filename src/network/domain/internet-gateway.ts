/**
 * The internet gateway aggregate (stream `internet-gateway-<igwId>`). On the fabric, attaching
 * gives the VPC's router a gateway port on the external network.
 *
 *   (create) -> detached <--attach/detach--> attached
 *   detached --delete--> deleted
 *
 * - Attach to the VPC it is attached to: no-op. Attached elsewhere: 409 invalid_state. A VPC
 *   holds one internet gateway: attaching a second is 409 conflict (the handler passes the VPC's
 *   current gateway).
 * - Detach while routes point at it: 409 dependency_violation naming them (the handler passes
 *   them). Detach when detached: no-op.
 * - Delete requires detached: 409 dependency_violation naming the VPC.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { dependencyViolation, notFound } from './rules';

export const INTERNET_GATEWAY_CATEGORY = 'internet-gateway';

export interface CreateInternetGateway {
  type: 'CreateInternetGateway';
  igwId: string;
  tenantId: string;
  now: Date;
}

export interface AttachInternetGateway {
  type: 'AttachInternetGateway';
  vpcId: string;
  /** The internet gateway already attached to that VPC, if any. */
  vpcGatewayId: string | null;
  now: Date;
}

export interface DetachInternetGateway {
  type: 'DetachInternetGateway';
  /** Ids of the routes (in any of the VPC's tables) whose target is this gateway. */
  routesTargeting: readonly string[];
  now: Date;
}

export interface DeleteInternetGateway {
  type: 'DeleteInternetGateway';
  now: Date;
}

export type InternetGatewayCommand =
  CreateInternetGateway | AttachInternetGateway | DetachInternetGateway | DeleteInternetGateway;

export type InternetGatewayEvent =
  | { type: 'InternetGatewayCreated'; data: { igwId: string; tenantId: string; at: string } }
  | { type: 'InternetGatewayAttached'; data: { igwId: string; vpcId: string; at: string } }
  | { type: 'InternetGatewayDetached'; data: { igwId: string; vpcId: string; at: string } }
  | { type: 'InternetGatewayDeleted'; data: { igwId: string; at: string } };

export interface InternetGatewayState {
  status: 'none' | 'detached' | 'attached' | 'deleted';
  igwId: string | null;
  tenantId: string | null;
  vpcId: string | null;
}

export function initialInternetGatewayState(): InternetGatewayState {
  return { status: 'none', igwId: null, tenantId: null, vpcId: null };
}

export function evolveInternetGateway(
  state: InternetGatewayState,
  event: InternetGatewayEvent,
): InternetGatewayState {
  switch (event.type) {
    case 'InternetGatewayCreated':
      return {
        status: 'detached',
        igwId: event.data.igwId,
        tenantId: event.data.tenantId,
        vpcId: null,
      };
    case 'InternetGatewayAttached':
      return { ...state, status: 'attached', vpcId: event.data.vpcId };
    case 'InternetGatewayDetached':
      return { ...state, status: 'detached', vpcId: null };
    case 'InternetGatewayDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

export function decideInternetGateway(
  command: InternetGatewayCommand,
  state: InternetGatewayState,
): InternetGatewayEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateInternetGateway') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `internet gateway ${command.igwId} already exists`, {
        resource: 'internet_gateway',
        id: command.igwId,
      });
    }
    return [
      {
        type: 'InternetGatewayCreated',
        data: { igwId: command.igwId, tenantId: command.tenantId, at },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'deleted') {
    throw notFound('internet_gateway', state.igwId);
  }
  const igwId = state.igwId as string;

  switch (command.type) {
    case 'AttachInternetGateway': {
      if (state.status === 'attached') {
        if (state.vpcId === command.vpcId) return [];
        throw AppError.invalidState(
          `internet gateway ${igwId} is attached to VPC ${state.vpcId}; detach it first`,
          { resource: 'internet_gateway', id: igwId, status: state.status, vpcId: state.vpcId },
        );
      }
      if (command.vpcGatewayId !== null && command.vpcGatewayId !== igwId) {
        throw new AppError(
          'conflict',
          `VPC ${command.vpcId} already has internet gateway ${command.vpcGatewayId}`,
          { resource: 'vpc', id: command.vpcId, internetGatewayId: command.vpcGatewayId },
        );
      }
      return [{ type: 'InternetGatewayAttached', data: { igwId, vpcId: command.vpcId, at } }];
    }
    case 'DetachInternetGateway': {
      if (state.status === 'detached') return [];
      if (command.routesTargeting.length > 0) {
        throw dependencyViolation(
          `routes ${command.routesTargeting.join(', ')} point at internet gateway ${igwId}; remove them first`,
          { routes: command.routesTargeting },
        );
      }
      return [
        { type: 'InternetGatewayDetached', data: { igwId, vpcId: state.vpcId as string, at } },
      ];
    }
    case 'DeleteInternetGateway': {
      if (state.status === 'attached') {
        throw dependencyViolation(
          `internet gateway ${igwId} is attached to VPC ${state.vpcId}; detach it first`,
          { vpcs: [state.vpcId as string] },
        );
      }
      return [{ type: 'InternetGatewayDeleted', data: { igwId, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const internetGatewayDecider: Decider<
  InternetGatewayCommand,
  InternetGatewayEvent,
  InternetGatewayState
> = {
  category: INTERNET_GATEWAY_CATEGORY,
  initialState: initialInternetGatewayState,
  evolve: evolveInternetGateway,
  decide: decideInternetGateway,
};
