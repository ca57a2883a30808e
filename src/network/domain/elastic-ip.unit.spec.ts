import { describe, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  elasticIpDecider,
  type EipAssociation,
  type ElasticIpEvent,
  type EipTarget,
} from './elastic-ip';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'eip-1';
const IP = '100.64.0.10';
const instance: EipTarget = { kind: 'instance', id: 'i-1' };
const association: EipAssociation = { target: instance, vpcId: 'vpc-1', privateIp: '10.0.1.4' };

const allocated: ElasticIpEvent = {
  type: 'ElasticIpAllocated',
  data: { eipId: ID, tenantId: 't-1', publicIp: IP, at: AT },
};
const associated: ElasticIpEvent = {
  type: 'ElasticIpAssociated',
  data: { eipId: ID, publicIp: IP, association, at: AT },
};
const disassociated: ElasticIpEvent = {
  type: 'ElasticIpDisassociated',
  data: { eipId: ID, publicIp: IP, association, at: AT },
};
const released: ElasticIpEvent = {
  type: 'ElasticIpReleased',
  data: { eipId: ID, publicIp: IP, at: AT },
};
const associate = (target: EipTarget = instance, privateIp = '10.0.1.4') => ({
  type: 'AssociateElasticIp' as const,
  target,
  vpcId: 'vpc-1',
  privateIp,
  now: NOW,
});
const release = { type: 'ReleaseElasticIp' as const, now: NOW };

describe('elastic IP decider', () => {
  it('is allocated with its public address', () => {
    spec(elasticIpDecider)
      .given([])
      .when({ type: 'AllocateElasticIp', eipId: ID, tenantId: 't-1', publicIp: IP, now: NOW })
      .then([allocated]);
  });

  it('associates; the same association again is a no-op; another target is 409', () => {
    spec(elasticIpDecider).given([allocated]).when(associate()).then([associated]);
    spec(elasticIpDecider).given([allocated, associated]).when(associate()).then([]);
    spec(elasticIpDecider)
      .given([allocated, associated])
      .when(associate({ kind: 'nat_gateway', id: 'nat-1' }))
      .thenThrows('conflict', /associated with instance i-1/);
  });

  it('disassociates; when not associated, or from another target, it is a no-op', () => {
    spec(elasticIpDecider)
      .given([allocated, associated])
      .when({ type: 'DisassociateElasticIp', now: NOW })
      .then([disassociated]);
    spec(elasticIpDecider)
      .given([allocated])
      .when({ type: 'DisassociateElasticIp', now: NOW })
      .then([]);
    spec(elasticIpDecider)
      .given([allocated, associated])
      .when({ type: 'DisassociateElasticIp', from: { kind: 'nat_gateway', id: 'nat-1' }, now: NOW })
      .then([]);
  });

  it('release is refused while associated (409), allowed once disassociated', () => {
    spec(elasticIpDecider)
      .given([allocated, associated])
      .when(release)
      .thenThrows('dependency_violation', /disassociate it first/);
    spec(elasticIpDecider)
      .given([allocated, associated, disassociated])
      .when(release)
      .then([released]);
  });

  it('a released or unknown address is 404', () => {
    spec(elasticIpDecider).given([allocated, released]).when(associate()).thenThrows('not_found');
    spec(elasticIpDecider).given([]).when(release).thenThrows('not_found');
  });
});
