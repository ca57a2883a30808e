/**
 * The VPC aggregate (stream `vpc-<vpcId>`): an isolated network with one private block. On the
 * fabric it is one router; creating it also creates its main route table (with the `local`
 * route) and its `default` security group, whose ids the command carries.
 *
 *   (create) -> available --delete--> deleted
 *
 * Delete is refused (409 dependency_violation, naming them) while anything lives in the VPC:
 * the handler reads the dependents from the read models and passes them in the command.
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { DEFAULT_VPC_CIDR, vpcCidrProblem } from './cidr';
import {
  dependencyViolation,
  describeDependents,
  hasDependents,
  nameProblems,
  notFound,
  problemAt,
  throwIfInvalid,
} from './rules';

export const VPC_CATEGORY = 'vpc';

/** What keeps a VPC from being deleted, by kind (ids). */
export interface VpcDependents {
  subnets: readonly string[];
  internet_gateways: readonly string[];
  nat_gateways: readonly string[];
  vpc_peerings: readonly string[];
  instances: readonly string[];
  databases: readonly string[];
  caches: readonly string[];
  clusters: readonly string[];
  /** Route tables and security groups other than the main table and the default group. */
  route_tables: readonly string[];
  security_groups: readonly string[];
}

export const NO_VPC_DEPENDENTS: VpcDependents = {
  subnets: [],
  internet_gateways: [],
  nat_gateways: [],
  vpc_peerings: [],
  instances: [],
  databases: [],
  caches: [],
  clusters: [],
  route_tables: [],
  security_groups: [],
};

export interface CreateVpc {
  type: 'CreateVpc';
  vpcId: string;
  tenantId: string;
  name: string;
  /** Absent or null: DEFAULT_VPC_CIDR. */
  cidrBlock?: string | null;
  mainRouteTableId: string;
  defaultSecurityGroupId: string;
  now: Date;
}

export interface DeleteVpc {
  type: 'DeleteVpc';
  dependents: VpcDependents;
  now: Date;
}

export type VpcCommand = CreateVpc | DeleteVpc;

export type VpcEvent =
  | {
      type: 'VpcCreated';
      data: {
        vpcId: string;
        tenantId: string;
        name: string;
        cidrBlock: string;
        mainRouteTableId: string;
        defaultSecurityGroupId: string;
        at: string;
      };
    }
  | {
      type: 'VpcDeleted';
      data: {
        vpcId: string;
        mainRouteTableId: string;
        defaultSecurityGroupId: string;
        at: string;
      };
    };

export interface VpcState {
  status: 'none' | 'available' | 'deleted';
  vpcId: string | null;
  tenantId: string | null;
  name: string;
  cidrBlock: string | null;
  mainRouteTableId: string | null;
  defaultSecurityGroupId: string | null;
  createdAt: string | null;
}

export function initialVpcState(): VpcState {
  return {
    status: 'none',
    vpcId: null,
    tenantId: null,
    name: '',
    cidrBlock: null,
    mainRouteTableId: null,
    defaultSecurityGroupId: null,
    createdAt: null,
  };
}

export function evolveVpc(state: VpcState, event: VpcEvent): VpcState {
  switch (event.type) {
    case 'VpcCreated':
      return {
        status: 'available',
        vpcId: event.data.vpcId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        cidrBlock: event.data.cidrBlock,
        mainRouteTableId: event.data.mainRouteTableId,
        defaultSecurityGroupId: event.data.defaultSecurityGroupId,
        createdAt: event.data.at,
      };
    case 'VpcDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

export function decideVpc(command: VpcCommand, state: VpcState): VpcEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateVpc') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `VPC ${command.vpcId} already exists`, {
        resource: 'vpc',
        id: command.vpcId,
      });
    }
    const cidrBlock = command.cidrBlock ?? DEFAULT_VPC_CIDR;
    throwIfInvalid([
      ...nameProblems(command.name, 'name'),
      ...problemAt('cidr_block', vpcCidrProblem(cidrBlock)),
    ]);
    return [
      {
        type: 'VpcCreated',
        data: {
          vpcId: command.vpcId,
          tenantId: command.tenantId,
          name: command.name,
          cidrBlock,
          mainRouteTableId: command.mainRouteTableId,
          defaultSecurityGroupId: command.defaultSecurityGroupId,
          at,
        },
      },
    ];
  }

  if (state.status !== 'available') throw notFound('vpc', state.vpcId);
  const dependents: Record<string, readonly string[]> = { ...command.dependents };
  if (hasDependents(dependents)) {
    throw dependencyViolation(
      `VPC ${state.vpcId} still has ${describeDependents(dependents)}; delete them first`,
      dependents,
    );
  }
  return [
    {
      type: 'VpcDeleted',
      data: {
        vpcId: state.vpcId as string,
        mainRouteTableId: state.mainRouteTableId as string,
        defaultSecurityGroupId: state.defaultSecurityGroupId as string,
        at,
      },
    },
  ];
}

export const vpcDecider: Decider<VpcCommand, VpcEvent, VpcState> = {
  category: VPC_CATEGORY,
  initialState: initialVpcState,
  evolve: evolveVpc,
  decide: decideVpc,
};

/** Another tenant's VPC (or a deleted one) is 404 to the caller. */
export function vpcVisibleTo(state: VpcState, tenantId: string): boolean {
  return state.status === 'available' && state.tenantId === tenantId;
}
