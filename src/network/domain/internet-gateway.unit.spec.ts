import { describe, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import { internetGatewayDecider, type InternetGatewayEvent } from './internet-gateway';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'igw-1';

const created: InternetGatewayEvent = {
  type: 'InternetGatewayCreated',
  data: { igwId: ID, tenantId: 't-1', at: AT },
};
const attached: InternetGatewayEvent = {
  type: 'InternetGatewayAttached',
  data: { igwId: ID, vpcId: 'vpc-1', at: AT },
};
const detached: InternetGatewayEvent = {
  type: 'InternetGatewayDetached',
  data: { igwId: ID, vpcId: 'vpc-1', at: AT },
};
const deleted: InternetGatewayEvent = {
  type: 'InternetGatewayDeleted',
  data: { igwId: ID, at: AT },
};
const attach = (vpcId = 'vpc-1', vpcGatewayId: string | null = null) => ({
  type: 'AttachInternetGateway' as const,
  vpcId,
  vpcGatewayId,
  now: NOW,
});
const detach = (routesTargeting: string[] = []) => ({
  type: 'DetachInternetGateway' as const,
  routesTargeting,
  now: NOW,
});
const del = { type: 'DeleteInternetGateway' as const, now: NOW };

describe('internet gateway decider', () => {
  it('is created detached', () => {
    spec(internetGatewayDecider)
      .given([])
      .when({ type: 'CreateInternetGateway', igwId: ID, tenantId: 't-1', now: NOW })
      .then([created]);
  });

  it('attaches to a VPC; again to the same VPC is a no-op', () => {
    spec(internetGatewayDecider).given([created]).when(attach()).then([attached]);
    spec(internetGatewayDecider).given([created, attached]).when(attach()).then([]);
  });

  it('attached elsewhere: 409 invalid_state; a VPC that has another gateway: 409 conflict', () => {
    spec(internetGatewayDecider)
      .given([created, attached])
      .when(attach('vpc-2'))
      .thenThrows('invalid_state', /attached to VPC vpc-1/);
    spec(internetGatewayDecider)
      .given([created])
      .when(attach('vpc-1', 'igw-0'))
      .thenThrows('conflict', /already has internet gateway igw-0/);
  });

  it('detaches; refuses while routes point at it (409), naming them; detached is a no-op', () => {
    spec(internetGatewayDecider).given([created, attached]).when(detach()).then([detached]);
    spec(internetGatewayDecider)
      .given([created, attached])
      .when(detach(['rt-1', 'rt-2']))
      .thenThrows('dependency_violation', /routes rt-1, rt-2 point at/);
    spec(internetGatewayDecider).given([created]).when(detach()).then([]);
  });

  it('deletes only when detached (409 dependency_violation otherwise)', () => {
    spec(internetGatewayDecider).given([created]).when(del).then([deleted]);
    spec(internetGatewayDecider).given([created, attached, detached]).when(del).then([deleted]);
    spec(internetGatewayDecider)
      .given([created, attached])
      .when(del)
      .thenThrows('dependency_violation', /detach it first/);
  });

  it('a deleted or unknown gateway is 404', () => {
    spec(internetGatewayDecider).given([created, deleted]).when(attach()).thenThrows('not_found');
    spec(internetGatewayDecider).given([]).when(del).thenThrows('not_found');
  });
});
