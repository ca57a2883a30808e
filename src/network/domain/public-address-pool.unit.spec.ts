import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  firstFreePublicAddress,
  publicAddressPoolDecider,
  upstreamAddress,
  type AddressHolder,
  type PublicAddressPoolEvent,
} from './public-address-pool';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const POOL = '100.64.0.0/10';
const eip1: AddressHolder = { kind: 'elastic_ip', id: 'eip-1' };
const igw1: AddressHolder = { kind: 'internet_gateway', id: 'igw-1' };
const reserved = (address: string, holder: AddressHolder): PublicAddressPoolEvent => ({
  type: 'PublicAddressReserved',
  data: { address, holder, at: AT },
});
const released = (address: string, holder: AddressHolder): PublicAddressPoolEvent => ({
  type: 'PublicAddressReleased',
  data: { address, holder, at: AT },
});
const reserve = (holder: AddressHolder, poolCidr = POOL) => ({
  type: 'ReservePublicAddress' as const,
  holder,
  poolCidr,
  now: NOW,
});

describe('public address pool decider', () => {
  it('hands out the lowest free address after the network address and the upstream', () => {
    spec(publicAddressPoolDecider)
      .given([])
      .when(reserve(eip1))
      .then([reserved('100.64.0.2', eip1)]);
    spec(publicAddressPoolDecider)
      .given([reserved('100.64.0.2', eip1)])
      .when(reserve(igw1))
      .then([reserved('100.64.0.3', igw1)]);
  });

  it('a holder keeps its address: reserving again appends nothing', () => {
    spec(publicAddressPoolDecider)
      .given([reserved('100.64.0.2', eip1)])
      .when(reserve(eip1))
      .then([]);
  });

  it('a released address is handed out again; releasing twice is a no-op', () => {
    spec(publicAddressPoolDecider)
      .given([reserved('100.64.0.2', eip1), reserved('100.64.0.3', igw1)])
      .when({ type: 'ReleasePublicAddress', holder: eip1, now: NOW })
      .then([released('100.64.0.2', eip1)]);
    spec(publicAddressPoolDecider)
      .given([reserved('100.64.0.2', eip1), released('100.64.0.2', eip1)])
      .when({ type: 'ReleasePublicAddress', holder: eip1, now: NOW })
      .then([]);
    spec(publicAddressPoolDecider)
      .given([reserved('100.64.0.2', eip1), released('100.64.0.2', eip1)])
      .when(reserve(igw1))
      .then([reserved('100.64.0.2', igw1)]);
  });

  it('never hands out the broadcast address: a full pool is 409 pool_exhausted', () => {
    // A /30 holds .0 (network), .1 (upstream), .2 and .3 (broadcast): one address to give.
    spec(publicAddressPoolDecider)
      .given([])
      .when(reserve(eip1, '198.19.0.0/30'))
      .then([reserved('198.19.0.2', eip1)]);
    spec(publicAddressPoolDecider)
      .given([reserved('198.19.0.2', eip1)])
      .when(reserve(igw1, '198.19.0.0/30'))
      .thenThrows('conflict', /no free address/);
  });

  it.each([
    ['100.64.0.0/10', '100.64.0.1'],
    ['198.19.0.0/24', '198.19.0.1'],
  ])('the upstream of %s is %s', (pool, upstream) => {
    expect(upstreamAddress(pool)).toBe(upstream);
  });

  it('skips held addresses', () => {
    expect(
      firstFreePublicAddress('198.19.0.0/29', { '198.19.0.2': eip1, '198.19.0.4': igw1 }),
    ).toBe('198.19.0.3');
  });
});
