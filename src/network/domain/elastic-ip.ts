/**
 * The elastic IP aggregate (stream `elastic-ip-<eipId>`): a public address from the pool, held
 * by the tenant until released. Associated with an instance it is a `dnat_and_snat` rule (the
 * outside reaches the instance at it, the instance's traffic leaves from it); a NAT gateway uses
 * one for its `snat`.
 *
 *   (allocate) -> allocated <--associate/disassociate--> associated
 *   allocated --release--> released
 *
 * - Associating with the target it is associated with: no-op; with another: 409 conflict
 *   (disassociate first).
 * - Disassociate when not associated: no-op. With `from` given, only from that target (a NAT
 *   gateway's teardown never takes the address from someone else).
 * - Release while associated: 409 dependency_violation naming the target.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { dependencyViolation, notFound } from './rules';

export const ELASTIC_IP_CATEGORY = 'elastic-ip';

export interface EipTarget {
  kind: 'instance' | 'nat_gateway';
  id: string;
}

export interface AllocateElasticIp {
  type: 'AllocateElasticIp';
  eipId: string;
  tenantId: string;
  /** Chosen from the pool by the handler (unique by reservation). */
  publicIp: string;
  now: Date;
}

export interface AssociateElasticIp {
  type: 'AssociateElasticIp';
  target: EipTarget;
  vpcId: string;
  privateIp: string;
  now: Date;
}

export interface DisassociateElasticIp {
  type: 'DisassociateElasticIp';
  from?: EipTarget;
  now: Date;
}

export interface ReleaseElasticIp {
  type: 'ReleaseElasticIp';
  now: Date;
}

export type ElasticIpCommand =
  AllocateElasticIp | AssociateElasticIp | DisassociateElasticIp | ReleaseElasticIp;

export interface EipAssociation {
  target: EipTarget;
  vpcId: string;
  privateIp: string;
}

export type ElasticIpEvent =
  | {
      type: 'ElasticIpAllocated';
      data: { eipId: string; tenantId: string; publicIp: string; at: string };
    }
  | {
      type: 'ElasticIpAssociated';
      data: { eipId: string; publicIp: string; association: EipAssociation; at: string };
    }
  | {
      type: 'ElasticIpDisassociated';
      data: { eipId: string; publicIp: string; association: EipAssociation; at: string };
    }
  | { type: 'ElasticIpReleased'; data: { eipId: string; publicIp: string; at: string } };

export interface ElasticIpState {
  status: 'none' | 'allocated' | 'associated' | 'released';
  eipId: string | null;
  tenantId: string | null;
  publicIp: string | null;
  association: EipAssociation | null;
}

export function initialElasticIpState(): ElasticIpState {
  return { status: 'none', eipId: null, tenantId: null, publicIp: null, association: null };
}

export function evolveElasticIp(state: ElasticIpState, event: ElasticIpEvent): ElasticIpState {
  switch (event.type) {
    case 'ElasticIpAllocated':
      return {
        status: 'allocated',
        eipId: event.data.eipId,
        tenantId: event.data.tenantId,
        publicIp: event.data.publicIp,
        association: null,
      };
    case 'ElasticIpAssociated':
      return { ...state, status: 'associated', association: event.data.association };
    case 'ElasticIpDisassociated':
      return { ...state, status: 'allocated', association: null };
    case 'ElasticIpReleased':
      return { ...state, status: 'released', association: null };
    default:
      return state;
  }
}

const sameTarget = (a: EipTarget, b: EipTarget) => a.kind === b.kind && a.id === b.id;

export function decideElasticIp(
  command: ElasticIpCommand,
  state: ElasticIpState,
): ElasticIpEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'AllocateElasticIp') {
    if (state.status !== 'none') {
      throw new AppError('conflict', `elastic IP ${command.eipId} already exists`, {
        resource: 'elastic_ip',
        id: command.eipId,
      });
    }
    return [
      {
        type: 'ElasticIpAllocated',
        data: { eipId: command.eipId, tenantId: command.tenantId, publicIp: command.publicIp, at },
      },
    ];
  }
  if (state.status === 'none' || state.status === 'released') {
    throw notFound('elastic_ip', state.eipId);
  }
  const eipId = state.eipId as string;
  const publicIp = state.publicIp as string;
  const current = state.association;

  switch (command.type) {
    case 'AssociateElasticIp': {
      if (current !== null) {
        if (sameTarget(current.target, command.target) && current.privateIp === command.privateIp) {
          return [];
        }
        throw new AppError(
          'conflict',
          `elastic IP ${publicIp} is associated with ${current.target.kind.replace('_', ' ')} ${current.target.id}; disassociate it first`,
          { resource: 'elastic_ip', id: eipId, associatedWith: current.target },
        );
      }
      return [
        {
          type: 'ElasticIpAssociated',
          data: {
            eipId,
            publicIp,
            association: {
              target: command.target,
              vpcId: command.vpcId,
              privateIp: command.privateIp,
            },
            at,
          },
        },
      ];
    }
    case 'DisassociateElasticIp': {
      if (current === null) return [];
      if (command.from && !sameTarget(current.target, command.from)) return [];
      return [
        { type: 'ElasticIpDisassociated', data: { eipId, publicIp, association: current, at } },
      ];
    }
    case 'ReleaseElasticIp': {
      if (current !== null) {
        throw dependencyViolation(
          `elastic IP ${publicIp} is associated with ${current.target.kind.replace('_', ' ')} ${current.target.id}; disassociate it first`,
          { [`${current.target.kind}s`]: [current.target.id] },
        );
      }
      return [{ type: 'ElasticIpReleased', data: { eipId, publicIp, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const elasticIpDecider: Decider<ElasticIpCommand, ElasticIpEvent, ElasticIpState> = {
  category: ELASTIC_IP_CATEGORY,
  initialState: initialElasticIpState,
  evolve: evolveElasticIp,
  decide: decideElasticIp,
};
