import { describe, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import { natGatewayDecider, type NatGatewayCommand, type NatGatewayEvent } from './nat-gateway';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'nat-1';

const created: NatGatewayEvent = {
  type: 'NatGatewayCreated',
  data: {
    natGatewayId: ID,
    tenantId: 't-1',
    vpcId: 'vpc-1',
    subnetId: 'sub-1',
    eipId: 'eip-1',
    privateIp: '10.0.1.4',
    at: AT,
  },
};
const activated: NatGatewayEvent = {
  type: 'NatGatewayActivated',
  data: { natGatewayId: ID, publicIp: '100.64.0.10', at: AT },
};
const failed: NatGatewayEvent = {
  type: 'NatGatewayFailed',
  data: {
    natGatewayId: ID,
    failureCode: 'no_internet_gateway',
    failureMessage: 'VPC vpc-1 has no internet gateway attached',
    at: AT,
  },
};
const deletionStarted = (previousStatus: 'pending' | 'active' | 'failed'): NatGatewayEvent => ({
  type: 'NatGatewayDeletionStarted',
  data: { natGatewayId: ID, previousStatus, at: AT },
});
const deleted: NatGatewayEvent = {
  type: 'NatGatewayDeleted',
  data: { natGatewayId: ID, eipId: 'eip-1', at: AT },
};

const C: Record<string, NatGatewayCommand> = {
  create: {
    type: 'CreateNatGateway',
    natGatewayId: ID,
    tenantId: 't-1',
    vpcId: 'vpc-1',
    subnetId: 'sub-1',
    eipId: 'eip-1',
    privateIp: '10.0.1.4',
    now: NOW,
  },
  active: { type: 'RecordNatGatewayActive', publicIp: '100.64.0.10', now: NOW },
  failed: {
    type: 'RecordNatGatewayFailed',
    failureCode: 'no_internet_gateway',
    failureMessage: 'VPC vpc-1 has no internet gateway attached',
    now: NOW,
  },
  delete: { type: 'DeleteNatGateway', now: NOW },
  deleted: { type: 'RecordNatGatewayDeleted', now: NOW },
};

describe('NAT gateway decider', () => {
  it('is created pending', () => {
    spec(natGatewayDecider).given([]).when(C.create).then([created]);
    spec(natGatewayDecider).given([created]).when(C.create).thenThrows('conflict');
  });

  it('pending -> active once realized; repeated, a no-op', () => {
    spec(natGatewayDecider).given([created]).when(C.active).then([activated]);
    spec(natGatewayDecider).given([created, activated]).when(C.active).then([]);
  });

  it('pending -> failed with a failure code; repeated, a no-op', () => {
    spec(natGatewayDecider).given([created]).when(C.failed).then([failed]);
    spec(natGatewayDecider).given([created, failed]).when(C.failed).then([]);
    spec(natGatewayDecider).given([created, failed]).when(C.active).then([]);
  });

  it.each([
    ['pending', [created], 'pending'],
    ['active', [created, activated], 'active'],
    ['failed', [created, failed], 'failed'],
  ] as const)('delete from %s -> deleting -> deleted', (_from, history, previous) => {
    spec(natGatewayDecider)
      .given([...history])
      .when(C.delete)
      .then([deletionStarted(previous)]);
    spec(natGatewayDecider)
      .given([...history, deletionStarted(previous)])
      .when(C.deleted)
      .then([deleted]);
  });

  it('delete is idempotent; a saga record arriving after a delete started is ignored', () => {
    const deleting = [created, deletionStarted('pending')];
    spec(natGatewayDecider).given(deleting).when(C.delete).then([]);
    spec(natGatewayDecider)
      .given([...deleting, deleted])
      .when(C.delete)
      .then([]);
    spec(natGatewayDecider).given(deleting).when(C.active).then([]);
    spec(natGatewayDecider).given(deleting).when(C.failed).then([]);
    spec(natGatewayDecider)
      .given([...deleting, deleted])
      .when(C.deleted)
      .then([]);
  });

  it('recording deleted before the delete started is 409 invalid_state; unknown is 404', () => {
    spec(natGatewayDecider).given([created, activated]).when(C.deleted).thenThrows('invalid_state');
    spec(natGatewayDecider).given([]).when(C.delete).thenThrows('not_found');
  });
});
