/**
 * The route table aggregate (stream `route-table-<routeTableId>`): routes and the subnets
 * associated with the table. On the fabric: router policies for the associated subnets' traffic
 * (the main table applies to every subnet without an explicit association).
 *
 *   (create, with its `local` route) -> available --delete--> deleted
 *
 * - Every table starts with the `local` route for the VPC's block, which cannot be removed.
 * - A route's destination is a CIDR block; two routes with the same destination are 409
 *   conflict; targets are `igw`, `nat` or `peering` with their id (the handler has checked the
 *   target exists in the VPC).
 * - The main table cannot be deleted (409 invalid_state): it goes with its VPC. Another table is
 *   deleted only without associations (409 dependency_violation).
 * - Association and disassociation are idempotent.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { parseCidr } from './cidr';
import {
  dependencyViolation,
  nameProblems,
  notFound,
  throwIfInvalid,
  type FieldProblem,
} from './rules';

export const ROUTE_TABLE_CATEGORY = 'route-table';
export const ROUTE_TARGET_TYPES = ['local', 'igw', 'nat', 'peering'] as const;
export type RouteTargetType = (typeof ROUTE_TARGET_TYPES)[number];

export interface Route {
  routeId: string;
  destinationCidr: string;
  targetType: RouteTargetType;
  /** Null for `local`. */
  targetId: string | null;
}

export interface CreateRouteTable {
  type: 'CreateRouteTable';
  routeTableId: string;
  tenantId: string;
  vpc: { vpcId: string; cidrBlock: string };
  name: string;
  isMain: boolean;
  /** The id of the `local` route. */
  localRouteId: string;
  /** The VPC's current main table when one exists (a second main table is 409). */
  existingMainTableId: string | null;
  now: Date;
}

export interface AddRoute {
  type: 'AddRoute';
  routeId: string;
  destinationCidr: unknown;
  targetType: unknown;
  targetId: unknown;
  now: Date;
}

export interface RemoveRoute {
  type: 'RemoveRoute';
  routeId: string;
  now: Date;
}

export interface AssociateSubnet {
  type: 'AssociateSubnet';
  subnetId: string;
  now: Date;
}

export interface DisassociateSubnet {
  type: 'DisassociateSubnet';
  subnetId: string;
  now: Date;
}

export interface DeleteRouteTable {
  type: 'DeleteRouteTable';
  /** True only when the VPC itself is being deleted (the main table goes with it). */
  withVpc: boolean;
  now: Date;
}

export type RouteTableCommand =
  | CreateRouteTable
  | AddRoute
  | RemoveRoute
  | AssociateSubnet
  | DisassociateSubnet
  | DeleteRouteTable;

export type RouteTableEvent =
  | {
      type: 'RouteTableCreated';
      data: {
        routeTableId: string;
        tenantId: string;
        vpcId: string;
        name: string;
        isMain: boolean;
        at: string;
      };
    }
  | { type: 'RouteAdded'; data: { routeTableId: string; route: Route; at: string } }
  | { type: 'RouteRemoved'; data: { routeTableId: string; route: Route; at: string } }
  | { type: 'SubnetAssociated'; data: { routeTableId: string; subnetId: string; at: string } }
  | { type: 'SubnetDisassociated'; data: { routeTableId: string; subnetId: string; at: string } }
  | { type: 'RouteTableDeleted'; data: { routeTableId: string; vpcId: string; at: string } };

export interface RouteTableState {
  status: 'none' | 'available' | 'deleted';
  routeTableId: string | null;
  tenantId: string | null;
  vpcId: string | null;
  name: string;
  isMain: boolean;
  routes: readonly Route[];
  subnetIds: readonly string[];
}

export function initialRouteTableState(): RouteTableState {
  return {
    status: 'none',
    routeTableId: null,
    tenantId: null,
    vpcId: null,
    name: '',
    isMain: false,
    routes: [],
    subnetIds: [],
  };
}

export function evolveRouteTable(state: RouteTableState, event: RouteTableEvent): RouteTableState {
  switch (event.type) {
    case 'RouteTableCreated':
      return {
        ...initialRouteTableState(),
        status: 'available',
        routeTableId: event.data.routeTableId,
        tenantId: event.data.tenantId,
        vpcId: event.data.vpcId,
        name: event.data.name,
        isMain: event.data.isMain,
      };
    case 'RouteAdded':
      return { ...state, routes: [...state.routes, event.data.route] };
    case 'RouteRemoved':
      return {
        ...state,
        routes: state.routes.filter((r) => r.routeId !== event.data.route.routeId),
      };
    case 'SubnetAssociated':
      return { ...state, subnetIds: [...state.subnetIds, event.data.subnetId] };
    case 'SubnetDisassociated':
      return { ...state, subnetIds: state.subnetIds.filter((s) => s !== event.data.subnetId) };
    case 'RouteTableDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

function routeProblems(command: AddRoute): { route: Route | null; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const parsed = parseCidr(command.destinationCidr);
  if (!parsed.ok) problems.push({ path: 'destination_cidr', message: parsed.problem });
  const targetType = ROUTE_TARGET_TYPES.find((t) => t === command.targetType);
  if (!targetType || targetType === 'local') {
    problems.push({
      path: 'target_type',
      message: 'must be igw, nat or peering (the local route exists already)',
    });
  }
  if (typeof command.targetId !== 'string' || command.targetId.length === 0) {
    problems.push({ path: 'target_id', message: 'must name the gateway or peering' });
  }
  if (problems.length > 0 || !parsed.ok || !targetType) return { route: null, problems };
  return {
    route: {
      routeId: command.routeId,
      destinationCidr: parsed.cidr.text,
      targetType,
      targetId: command.targetId as string,
    },
    problems: [],
  };
}

export function decideRouteTable(
  command: RouteTableCommand,
  state: RouteTableState,
): RouteTableEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateRouteTable') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `route table ${command.routeTableId} already exists`, {
        resource: 'route_table',
        id: command.routeTableId,
      });
    }
    throwIfInvalid(nameProblems(command.name, 'name'));
    if (command.isMain && command.existingMainTableId !== null) {
      throw new AppError(
        'conflict',
        `VPC ${command.vpc.vpcId} already has a main route table (${command.existingMainTableId})`,
        { resource: 'route_table', id: command.existingMainTableId },
      );
    }
    const routeTableId = command.routeTableId;
    return [
      {
        type: 'RouteTableCreated',
        data: {
          routeTableId,
          tenantId: command.tenantId,
          vpcId: command.vpc.vpcId,
          name: command.name,
          isMain: command.isMain,
          at,
        },
      },
      {
        type: 'RouteAdded',
        data: {
          routeTableId,
          route: {
            routeId: command.localRouteId,
            destinationCidr: command.vpc.cidrBlock,
            targetType: 'local',
            targetId: null,
          },
          at,
        },
      },
    ];
  }

  if (state.status !== 'available') throw notFound('route_table', state.routeTableId);
  const routeTableId = state.routeTableId as string;

  switch (command.type) {
    case 'AddRoute': {
      const { route, problems } = routeProblems(command);
      throwIfInvalid(problems);
      const wanted = route as Route;
      const sameId = state.routes.find((r) => r.routeId === wanted.routeId);
      if (sameId) {
        const same =
          sameId.destinationCidr === wanted.destinationCidr &&
          sameId.targetType === wanted.targetType &&
          sameId.targetId === wanted.targetId;
        if (same) return [];
        throw new AppError('conflict', `route ${wanted.routeId} already exists with other values`, {
          resource: 'route',
          id: wanted.routeId,
        });
      }
      const clash = state.routes.find((r) => r.destinationCidr === wanted.destinationCidr);
      if (clash) {
        throw new AppError(
          'conflict',
          `route table ${routeTableId} already has a route for ${wanted.destinationCidr} (${clash.targetType})`,
          { resource: 'route', id: clash.routeId, field: 'destination_cidr' },
        );
      }
      return [{ type: 'RouteAdded', data: { routeTableId, route: wanted, at } }];
    }
    case 'RemoveRoute': {
      const route = state.routes.find((r) => r.routeId === command.routeId);
      if (!route) throw notFound('route', command.routeId);
      if (route.targetType === 'local') {
        throw AppError.invalidState('the local route of a route table cannot be removed', {
          resource: 'route',
          id: route.routeId,
        });
      }
      return [{ type: 'RouteRemoved', data: { routeTableId, route, at } }];
    }
    case 'AssociateSubnet':
      if (state.subnetIds.includes(command.subnetId)) return [];
      return [{ type: 'SubnetAssociated', data: { routeTableId, subnetId: command.subnetId, at } }];
    case 'DisassociateSubnet':
      if (!state.subnetIds.includes(command.subnetId)) return [];
      return [
        { type: 'SubnetDisassociated', data: { routeTableId, subnetId: command.subnetId, at } },
      ];
    case 'DeleteRouteTable': {
      if (state.isMain && !command.withVpc) {
        throw AppError.invalidState(
          `route table ${routeTableId} is the main route table of VPC ${state.vpcId}; it is deleted with the VPC`,
          { resource: 'route_table', id: routeTableId, isMain: true },
        );
      }
      if (state.subnetIds.length > 0 && !command.withVpc) {
        throw dependencyViolation(
          `route table ${routeTableId} is associated with subnets ${state.subnetIds.join(', ')}; disassociate them first`,
          { subnets: state.subnetIds },
        );
      }
      return [
        { type: 'RouteTableDeleted', data: { routeTableId, vpcId: state.vpcId as string, at } },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const routeTableDecider: Decider<RouteTableCommand, RouteTableEvent, RouteTableState> = {
  category: ROUTE_TABLE_CATEGORY,
  initialState: initialRouteTableState,
  evolve: evolveRouteTable,
  decide: decideRouteTable,
};

/** The routes of a table that point at a target (detaching a gateway checks these). */
export function routesTargeting(
  state: RouteTableState,
  targetType: RouteTargetType,
  targetId: string,
): Route[] {
  return state.routes.filter((r) => r.targetType === targetType && r.targetId === targetId);
}
