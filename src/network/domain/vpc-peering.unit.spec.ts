import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  vpcPeeringDecider,
  vpcPeeringVisibleTo,
  type PeeringSideInfo,
  type RequestVpcPeering,
  type VpcPeeringEvent,
  type VpcPeeringStatus,
} from './vpc-peering';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const EXPIRES = new Date('2026-05-08T10:00:00.000Z');
const ID = 'pcx-1';
const requester: PeeringSideInfo = { vpcId: 'vpc-a', tenantId: 't-a', cidrBlock: '10.0.0.0/16' };
const accepter: PeeringSideInfo = { vpcId: 'vpc-b', tenantId: 't-b', cidrBlock: '10.1.0.0/16' };

const request = (overrides: Partial<RequestVpcPeering> = {}): RequestVpcPeering => ({
  type: 'RequestVpcPeering',
  peeringId: ID,
  requester,
  accepter,
  livePeeringsOfPair: [],
  expiresAt: EXPIRES,
  now: NOW,
  ...overrides,
});
const requested: VpcPeeringEvent = {
  type: 'VpcPeeringRequested',
  data: { peeringId: ID, requester, accepter, expiresAt: EXPIRES.toISOString(), at: AT },
};
const ev = (
  type:
    | 'VpcPeeringAccepted'
    | 'VpcPeeringRejected'
    | 'VpcPeeringExpired'
    | 'VpcPeeringActivated'
    | 'VpcPeeringDeleted',
): VpcPeeringEvent => ({
  type,
  data: { peeringId: ID, at: AT },
});
const failed: VpcPeeringEvent = {
  type: 'VpcPeeringFailed',
  data: { peeringId: ID, failureCode: 'link_failed', failureMessage: 'boom', at: AT },
};
const deletionStarted = (previousStatus: VpcPeeringStatus): VpcPeeringEvent => ({
  type: 'VpcPeeringDeletionStarted',
  data: { peeringId: ID, previousStatus, at: AT },
});

const accept = (tenantId = 't-b') => ({ type: 'AcceptVpcPeering' as const, tenantId, now: NOW });
const reject = (tenantId = 't-b') => ({ type: 'RejectVpcPeering' as const, tenantId, now: NOW });
const HISTORY: Record<Exclude<VpcPeeringStatus, 'deleted'>, VpcPeeringEvent[]> = {
  'pending-acceptance': [requested],
  provisioning: [requested, ev('VpcPeeringAccepted')],
  active: [requested, ev('VpcPeeringAccepted'), ev('VpcPeeringActivated')],
  failed: [requested, ev('VpcPeeringAccepted'), failed],
  rejected: [requested, ev('VpcPeeringRejected')],
  expired: [requested, ev('VpcPeeringExpired')],
  deleting: [requested, deletionStarted('pending-acceptance')],
};

describe('VPC peering decider', () => {
  it('is requested pending acceptance, with its expiry', () => {
    spec(vpcPeeringDecider).given([]).when(request()).then([requested]);
  });

  it('self-peering and overlapping blocks are 400', () => {
    spec(vpcPeeringDecider)
      .given([])
      .when(request({ accepter: { ...requester } }))
      .thenThrows('validation_error', /must differ/);
    spec(vpcPeeringDecider)
      .given([])
      .when(request({ accepter: { ...accepter, cidrBlock: '10.0.128.0/20' } }))
      .thenThrows('validation_error', /overlap/);
  });

  it('a second pending or active peering of the pair is 409', () => {
    spec(vpcPeeringDecider)
      .given([])
      .when(request({ livePeeringsOfPair: ['pcx-0'] }))
      .thenThrows('conflict', /pcx-0/);
  });

  it('the accepter accepts (provisioning, then active once linked) or rejects', () => {
    spec(vpcPeeringDecider)
      .given([requested])
      .when(accept())
      .then([ev('VpcPeeringAccepted')]);
    spec(vpcPeeringDecider)
      .given(HISTORY.provisioning)
      .when({ type: 'RecordVpcPeeringActive', now: NOW })
      .then([ev('VpcPeeringActivated')]);
    spec(vpcPeeringDecider)
      .given([requested])
      .when(reject())
      .then([ev('VpcPeeringRejected')]);
  });

  it('the requester cannot accept or reject its own request (403)', () => {
    spec(vpcPeeringDecider).given([requested]).when(accept('t-a')).thenThrows('forbidden');
    spec(vpcPeeringDecider).given([requested]).when(reject('t-a')).thenThrows('forbidden');
  });

  it.each(['provisioning', 'active', 'failed', 'rejected', 'expired', 'deleting'] as const)(
    'accept or reject when %s is 409 invalid_state',
    (status) => {
      spec(vpcPeeringDecider)
        .given(HISTORY[status])
        .when(accept())
        .thenThrows('invalid_state', new RegExp(status));
      spec(vpcPeeringDecider).given(HISTORY[status]).when(reject()).thenThrows('invalid_state');
    },
  );

  it('expires only while pending; a late timeout is a no-op', () => {
    const expire = { type: 'ExpireVpcPeering' as const, now: NOW };
    spec(vpcPeeringDecider)
      .given([requested])
      .when(expire)
      .then([ev('VpcPeeringExpired')]);
    for (const status of ['provisioning', 'active', 'rejected', 'expired', 'deleting'] as const) {
      spec(vpcPeeringDecider).given(HISTORY[status]).when(expire).then([]);
    }
  });

  it('provisioning can fail with a code; saga records are idempotent', () => {
    const fail = {
      type: 'RecordVpcPeeringFailed' as const,
      failureCode: 'link_failed',
      failureMessage: 'boom',
      now: NOW,
    };
    spec(vpcPeeringDecider).given(HISTORY.provisioning).when(fail).then([failed]);
    spec(vpcPeeringDecider).given(HISTORY.failed).when(fail).then([]);
    spec(vpcPeeringDecider)
      .given(HISTORY.active)
      .when({ type: 'RecordVpcPeeringActive', now: NOW })
      .then([]);
    spec(vpcPeeringDecider)
      .given(HISTORY.deleting)
      .when({ type: 'RecordVpcPeeringActive', now: NOW })
      .then([]);
  });

  it.each(['pending-acceptance', 'provisioning', 'active', 'failed'] as const)(
    'delete from %s -> deleting -> deleted',
    (status) => {
      spec(vpcPeeringDecider)
        .given(HISTORY[status])
        .when({ type: 'DeleteVpcPeering', now: NOW })
        .then([deletionStarted(status)]);
      spec(vpcPeeringDecider)
        .given([...HISTORY[status], deletionStarted(status)])
        .when({ type: 'RecordVpcPeeringDeleted', now: NOW })
        .then([ev('VpcPeeringDeleted')]);
    },
  );

  it('delete of a rejected, expired, deleting or deleted peering is a no-op', () => {
    for (const history of [
      HISTORY.rejected,
      HISTORY.expired,
      HISTORY.deleting,
      [...HISTORY.deleting, ev('VpcPeeringDeleted')],
    ]) {
      spec(vpcPeeringDecider).given(history).when({ type: 'DeleteVpcPeering', now: NOW }).then([]);
    }
    spec(vpcPeeringDecider)
      .given(HISTORY.active)
      .when({ type: 'RecordVpcPeeringDeleted', now: NOW })
      .thenThrows('invalid_state');
  });

  it('both tenants see it, nobody else', () => {
    const state = [requested].reduce(vpcPeeringDecider.evolve, vpcPeeringDecider.initialState());
    expect(vpcPeeringVisibleTo(state, 't-a')).toBe(true);
    expect(vpcPeeringVisibleTo(state, 't-b')).toBe(true);
    expect(vpcPeeringVisibleTo(state, 't-c')).toBe(false);
  });
});
