/**
 * The subnet aggregate (stream `subnet-<subnetId>`): a block of its VPC's addresses, one switch
 * on the fabric, and the allocator of its addresses.
 *
 *   (create) -> available --delete--> deleted
 *
 * Addresses live in this stream: every allocation is an event appended at the revision the
 * decision read, so two launches racing for the same address conflict on append and the loser
 * re-decides with the winner's address taken. No duplicates, without locks. An allocation is
 * named by its holder (a NIC id): allocating again for the same holder returns nothing new, and
 * releasing what is not held is a no-op (a saga step re-run after a crash).
 *
 * Create checks the block (400: not a network address, prefix outside /16../28, outside the
 * VPC) and the siblings (409 conflict: overlap), which the handler reads and passes in.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import {
  assignableAddressProblem,
  firstFreeAddress,
  gatewayAddress,
  overlappingSiblings,
  subnetCidrProblem,
} from './cidr';
import {
  dependencyViolation,
  nameProblems,
  notFound,
  problemAt,
  throwIfInvalid,
  type FieldProblem,
} from './rules';

export const SUBNET_CATEGORY = 'subnet';

export interface CreateSubnet {
  type: 'CreateSubnet';
  subnetId: string;
  tenantId: string;
  /** The VPC as the handler read it (it checked the caller may see it). */
  vpc: { vpcId: string; cidrBlock: string };
  /** The VPC's other live subnets. */
  siblings: ReadonlyArray<{ subnetId: string; cidrBlock: string }>;
  name: string;
  cidrBlock: string;
  availabilityZone: string;
  now: Date;
}

export interface AllocateAddress {
  type: 'AllocateAddress';
  /** Who holds the address (a NIC id). */
  holderId: string;
  /** A specific address, or null for the lowest free one. */
  requestedIp: string | null;
  now: Date;
}

export interface ReleaseAddress {
  type: 'ReleaseAddress';
  holderId: string;
  now: Date;
}

export interface DeleteSubnet {
  type: 'DeleteSubnet';
  /** Instances, NAT gateways, databases... placed in the subnet, as the read models know them. */
  dependents: Record<string, readonly string[]>;
  now: Date;
}

export type SubnetCommand = CreateSubnet | AllocateAddress | ReleaseAddress | DeleteSubnet;

export type SubnetEvent =
  | {
      type: 'SubnetCreated';
      data: {
        subnetId: string;
        tenantId: string;
        vpcId: string;
        name: string;
        cidrBlock: string;
        availabilityZone: string;
        gatewayIp: string;
        at: string;
      };
    }
  | {
      type: 'SubnetAddressAllocated';
      data: { subnetId: string; holderId: string; ip: string; at: string };
    }
  | {
      type: 'SubnetAddressReleased';
      data: { subnetId: string; holderId: string; ip: string; at: string };
    }
  | { type: 'SubnetDeleted'; data: { subnetId: string; vpcId: string; at: string } };

export interface SubnetState {
  status: 'none' | 'available' | 'deleted';
  subnetId: string | null;
  tenantId: string | null;
  vpcId: string | null;
  name: string;
  cidrBlock: string | null;
  availabilityZone: string;
  gatewayIp: string | null;
  /** holder id -> address */
  allocations: Readonly<Record<string, string>>;
  createdAt: string | null;
}

export function initialSubnetState(): SubnetState {
  return {
    status: 'none',
    subnetId: null,
    tenantId: null,
    vpcId: null,
    name: '',
    cidrBlock: null,
    availabilityZone: '',
    gatewayIp: null,
    allocations: {},
    createdAt: null,
  };
}

export function evolveSubnet(state: SubnetState, event: SubnetEvent): SubnetState {
  switch (event.type) {
    case 'SubnetCreated':
      return {
        ...initialSubnetState(),
        status: 'available',
        subnetId: event.data.subnetId,
        tenantId: event.data.tenantId,
        vpcId: event.data.vpcId,
        name: event.data.name,
        cidrBlock: event.data.cidrBlock,
        availabilityZone: event.data.availabilityZone,
        gatewayIp: event.data.gatewayIp,
        createdAt: event.data.at,
      };
    case 'SubnetAddressAllocated':
      return {
        ...state,
        allocations: { ...state.allocations, [event.data.holderId]: event.data.ip },
      };
    case 'SubnetAddressReleased': {
      const { [event.data.holderId]: _released, ...rest } = state.allocations;
      return { ...state, allocations: rest };
    }
    case 'SubnetDeleted':
      return { ...state, status: 'deleted' };
    default:
      return state;
  }
}

function availabilityZoneProblems(value: unknown): FieldProblem[] {
  const path = 'availability_zone';
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (!/^[a-z0-9-]{1,64}$/.test(value)) {
    return [{ path, message: 'must be 1..64 lower-case letters, digits and "-" (e.g. local-1a)' }];
  }
  return [];
}

export function decideSubnet(command: SubnetCommand, state: SubnetState): SubnetEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateSubnet') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `subnet ${command.subnetId} already exists`, {
        resource: 'subnet',
        id: command.subnetId,
      });
    }
    throwIfInvalid([
      ...nameProblems(command.name, 'name'),
      ...problemAt('cidr_block', subnetCidrProblem(command.cidrBlock, command.vpc.cidrBlock)),
      ...availabilityZoneProblems(command.availabilityZone),
    ]);
    const clashes = overlappingSiblings(command.cidrBlock, command.siblings);
    if (clashes.length > 0) {
      throw new AppError(
        'conflict',
        `${command.cidrBlock} overlaps ${clashes.map((s) => `subnet ${s.subnetId} (${s.cidrBlock})`).join(', ')} in the VPC`,
        { resource: 'subnet', field: 'cidr_block', overlaps: clashes.map((s) => s.subnetId) },
      );
    }
    return [
      {
        type: 'SubnetCreated',
        data: {
          subnetId: command.subnetId,
          tenantId: command.tenantId,
          vpcId: command.vpc.vpcId,
          name: command.name,
          cidrBlock: command.cidrBlock,
          availabilityZone: command.availabilityZone,
          gatewayIp: gatewayAddress(command.cidrBlock),
          at,
        },
      },
    ];
  }

  if (state.status !== 'available') throw notFound('subnet', state.subnetId);
  const subnetId = state.subnetId as string;
  const cidrBlock = state.cidrBlock as string;

  switch (command.type) {
    case 'AllocateAddress': {
      const held = state.allocations[command.holderId];
      if (held !== undefined) {
        if (command.requestedIp === null || command.requestedIp === held) return [];
        throw new AppError(
          'conflict',
          `${command.holderId} already holds ${held} in subnet ${subnetId}`,
          { resource: 'subnet', id: subnetId, holderId: command.holderId, ip: held },
        );
      }
      const taken = new Set(Object.values(state.allocations));
      let ip: string;
      if (command.requestedIp !== null) {
        throwIfInvalid(
          problemAt('private_ip', assignableAddressProblem(cidrBlock, command.requestedIp)),
        );
        if (taken.has(command.requestedIp)) {
          throw new AppError(
            'conflict',
            `${command.requestedIp} is already in use in ${cidrBlock}`,
            {
              resource: 'subnet',
              id: subnetId,
              ip: command.requestedIp,
            },
          );
        }
        ip = command.requestedIp;
      } else {
        const free = firstFreeAddress(cidrBlock, taken);
        if (free === null) {
          throw new AppError('conflict', `subnet ${subnetId} (${cidrBlock}) has no free address`, {
            resource: 'subnet',
            id: subnetId,
            reason: 'subnet_full',
          });
        }
        ip = free;
      }
      return [
        { type: 'SubnetAddressAllocated', data: { subnetId, holderId: command.holderId, ip, at } },
      ];
    }
    case 'ReleaseAddress': {
      const held = state.allocations[command.holderId];
      if (held === undefined) return [];
      return [
        {
          type: 'SubnetAddressReleased',
          data: { subnetId, holderId: command.holderId, ip: held, at },
        },
      ];
    }
    case 'DeleteSubnet': {
      const holders = Object.keys(state.allocations);
      const dependents: Record<string, readonly string[]> = { ...command.dependents };
      const named = new Set(Object.values(dependents).flat());
      const unnamed = holders.filter((holder) => !named.has(holder));
      if (unnamed.length > 0) dependents.network_interfaces = unnamed;
      const all = Object.entries(dependents).filter(([, ids]) => ids.length > 0);
      if (all.length > 0) {
        throw dependencyViolation(
          `subnet ${subnetId} is still used by ${all.map(([kind, ids]) => `${kind.replace(/_/g, ' ')} ${ids.join(', ')}`).join('; ')}`,
          Object.fromEntries(all),
        );
      }
      return [{ type: 'SubnetDeleted', data: { subnetId, vpcId: state.vpcId as string, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const subnetDecider: Decider<SubnetCommand, SubnetEvent, SubnetState> = {
  category: SUBNET_CATEGORY,
  initialState: initialSubnetState,
  evolve: evolveSubnet,
  decide: decideSubnet,
};

export function subnetVisibleTo(state: SubnetState, tenantId: string): boolean {
  return state.status === 'available' && state.tenantId === tenantId;
}
