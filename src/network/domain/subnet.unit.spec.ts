import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  subnetDecider,
  type AllocateAddress,
  type CreateSubnet,
  type SubnetEvent,
  type SubnetState,
} from './subnet';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'sub-1';

const create = (overrides: Partial<CreateSubnet> = {}): CreateSubnet => ({
  type: 'CreateSubnet',
  subnetId: ID,
  tenantId: 't-1',
  vpc: { vpcId: 'vpc-1', cidrBlock: '10.0.0.0/16' },
  siblings: [],
  name: 'private-1',
  cidrBlock: '10.0.1.0/28',
  availabilityZone: 'local-1a',
  now: NOW,
  ...overrides,
});
const created: SubnetEvent = {
  type: 'SubnetCreated',
  data: {
    subnetId: ID,
    tenantId: 't-1',
    vpcId: 'vpc-1',
    name: 'private-1',
    cidrBlock: '10.0.1.0/28',
    availabilityZone: 'local-1a',
    gatewayIp: '10.0.1.1',
    at: AT,
  },
};
const allocated = (holderId: string, ip: string): SubnetEvent => ({
  type: 'SubnetAddressAllocated',
  data: { subnetId: ID, holderId, ip, at: AT },
});
const allocate = (holderId: string, requestedIp: string | null = null): AllocateAddress => ({
  type: 'AllocateAddress',
  holderId,
  requestedIp,
  now: NOW,
});

describe('subnet decider', () => {
  it('creates a subnet inside its VPC, with the router on the first address', () => {
    spec(subnetDecider).given([]).when(create()).then([created]);
  });

  it.each([
    ['outside the VPC', '10.1.0.0/24', /not inside the VPC/],
    ['too small', '10.0.1.0/29', /prefix \/29/],
    ['not a network address', '10.0.1.3/28', /not a network address/],
  ])('refuses a block %s (400)', (_what, cidrBlock, message) => {
    spec(subnetDecider)
      .given([])
      .when(create({ cidrBlock }))
      .thenThrows('validation_error', message);
  });

  it('refuses a bad availability zone (400)', () => {
    spec(subnetDecider)
      .given([])
      .when(create({ availabilityZone: 'US East!' }))
      .thenThrows('validation_error', /availability_zone/);
  });

  it('refuses a block overlapping a sibling (409), naming it', () => {
    spec(subnetDecider)
      .given([])
      .when(create({ siblings: [{ subnetId: 'sub-0', cidrBlock: '10.0.0.0/23' }] }))
      .thenThrows('conflict', /overlaps subnet sub-0 \(10.0.0.0\/23\)/);
  });

  it('allocates the lowest free address after the four reserved ones', () => {
    spec(subnetDecider)
      .given([created])
      .when(allocate('nic-1'))
      .then([allocated('nic-1', '10.0.1.4')]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when(allocate('nic-2'))
      .then([allocated('nic-2', '10.0.1.5')]);
  });

  it('allocating again for the same holder gives nothing new (a saga step re-run)', () => {
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when(allocate('nic-1'))
      .then([]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when(allocate('nic-1', '10.0.1.4'))
      .then([]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when(allocate('nic-1', '10.0.1.9'))
      .thenThrows('conflict', /already holds 10.0.1.4/);
  });

  it('gives a requested address when it is free and assignable', () => {
    spec(subnetDecider)
      .given([created])
      .when(allocate('nic-1', '10.0.1.9'))
      .then([allocated('nic-1', '10.0.1.9')]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.9')])
      .when(allocate('nic-2', '10.0.1.9'))
      .thenThrows('conflict', /already in use/);
    for (const reserved of ['10.0.1.0', '10.0.1.1', '10.0.1.3', '10.0.1.15', '10.0.2.4']) {
      spec(subnetDecider)
        .given([created])
        .when(allocate('nic-1', reserved))
        .thenThrows('validation_error');
    }
  });

  it('never gives one address twice, and says when the subnet is full', () => {
    let state: SubnetState = [created].reduce(subnetDecider.evolve, subnetDecider.initialState());
    const given: string[] = [];
    for (let i = 0; i < 11; i += 1) {
      const [event] = subnetDecider.decide(allocate(`nic-${i}`), state);
      state = subnetDecider.evolve(state, event);
      if (event.type === 'SubnetAddressAllocated') given.push(event.data.ip);
    }
    expect(new Set(given).size).toBe(11);
    expect(given).not.toContain('10.0.1.15');
    spec(subnetDecider)
      .given([created, ...given.map((ip, i) => allocated(`nic-${i}`, ip))])
      .when(allocate('nic-99'))
      .thenThrows('conflict', /no free address/);
  });

  it('releases an address so that it can be given again; releasing twice is a no-op', () => {
    const released: SubnetEvent = {
      type: 'SubnetAddressReleased',
      data: { subnetId: ID, holderId: 'nic-1', ip: '10.0.1.4', at: AT },
    };
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when({ type: 'ReleaseAddress', holderId: 'nic-1', now: NOW })
      .then([released]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4'), released])
      .when({ type: 'ReleaseAddress', holderId: 'nic-1', now: NOW })
      .then([]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4'), released])
      .when(allocate('nic-2'))
      .then([allocated('nic-2', '10.0.1.4')]);
  });

  it('deletes an empty subnet; refuses while anything uses it (409), naming it', () => {
    const del = (dependents: Record<string, string[]> = {}) => ({
      type: 'DeleteSubnet' as const,
      dependents,
      now: NOW,
    });
    spec(subnetDecider)
      .given([created])
      .when(del())
      .then([{ type: 'SubnetDeleted', data: { subnetId: ID, vpcId: 'vpc-1', at: AT } }]);
    spec(subnetDecider)
      .given([created, allocated('nic-1', '10.0.1.4')])
      .when(del())
      .thenThrows('dependency_violation', /network interfaces nic-1/);
    spec(subnetDecider)
      .given([created])
      .when(del({ nat_gateways: ['nat-1'] }))
      .thenThrows('dependency_violation', /nat gateways nat-1/);
  });

  it('an unknown or deleted subnet is 404', () => {
    const deleted: SubnetEvent = {
      type: 'SubnetDeleted',
      data: { subnetId: ID, vpcId: 'vpc-1', at: AT },
    };
    spec(subnetDecider).given([]).when(allocate('nic-1')).thenThrows('not_found');
    spec(subnetDecider).given([created, deleted]).when(allocate('nic-1')).thenThrows('not_found');
    spec(subnetDecider).given([created]).when(create()).thenThrows('conflict');
  });
});
