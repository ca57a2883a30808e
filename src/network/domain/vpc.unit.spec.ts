import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import { NO_VPC_DEPENDENTS, vpcDecider, vpcVisibleTo, type CreateVpc, type VpcEvent } from './vpc';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();

const create = (overrides: Partial<CreateVpc> = {}): CreateVpc => ({
  type: 'CreateVpc',
  vpcId: 'vpc-1',
  tenantId: 't-1',
  name: 'prod-vpc',
  mainRouteTableId: 'rtb-1',
  defaultSecurityGroupId: 'sg-1',
  now: NOW,
  ...overrides,
});

const created = (cidrBlock = '10.0.0.0/16'): VpcEvent => ({
  type: 'VpcCreated',
  data: {
    vpcId: 'vpc-1',
    tenantId: 't-1',
    name: 'prod-vpc',
    cidrBlock,
    mainRouteTableId: 'rtb-1',
    defaultSecurityGroupId: 'sg-1',
    at: AT,
  },
});
const deleted: VpcEvent = {
  type: 'VpcDeleted',
  data: { vpcId: 'vpc-1', mainRouteTableId: 'rtb-1', defaultSecurityGroupId: 'sg-1', at: AT },
};

describe('VPC decider', () => {
  it('creates a VPC with the default block when none is given', () => {
    spec(vpcDecider).given([]).when(create()).then([created()]);
    spec(vpcDecider)
      .given([])
      .when(create({ cidrBlock: null }))
      .then([created()]);
  });

  it('creates a VPC with the block asked for', () => {
    spec(vpcDecider)
      .given([])
      .when(create({ cidrBlock: '172.16.0.0/20' }))
      .then([created('172.16.0.0/20')]);
  });

  it.each(['10.0.0.0/8', '10.0.0.0/29', '10.0.0.1/16', '100.64.0.0/16', 'nonsense'])(
    'refuses the block %s (400)',
    (cidrBlock) => {
      spec(vpcDecider)
        .given([])
        .when(create({ cidrBlock }))
        .thenThrows('validation_error', /cidr_block/);
    },
  );

  it('refuses an empty name (400)', () => {
    spec(vpcDecider)
      .given([])
      .when(create({ name: '  ' }))
      .thenThrows('validation_error', /name/);
  });

  it('refuses to create the same VPC twice (409)', () => {
    spec(vpcDecider).given([created()]).when(create()).thenThrows('conflict');
  });

  it('deletes an empty VPC, naming its main table and default group for their teardown', () => {
    spec(vpcDecider)
      .given([created()])
      .when({ type: 'DeleteVpc', dependents: NO_VPC_DEPENDENTS, now: NOW })
      .then([deleted]);
  });

  it('refuses to delete a VPC that still holds anything, naming what (409 dependency_violation)', () => {
    spec(vpcDecider)
      .given([created()])
      .when({
        type: 'DeleteVpc',
        dependents: {
          ...NO_VPC_DEPENDENTS,
          subnets: ['sub-1', 'sub-2'],
          internet_gateways: ['igw-1'],
        },
        now: NOW,
      })
      .thenThrows(
        'dependency_violation',
        /2 subnets \(sub-1, sub-2\), 1 internet gateways \(igw-1\)/,
      );
  });

  it('a deleted or unknown VPC is 404', () => {
    const del = { type: 'DeleteVpc' as const, dependents: NO_VPC_DEPENDENTS, now: NOW };
    spec(vpcDecider).given([created(), deleted]).when(del).thenThrows('not_found');
    spec(vpcDecider).given([]).when(del).thenThrows('not_found');
  });

  it('is visible to its tenant only, while it exists', () => {
    const state = [created()].reduce(vpcDecider.evolve, vpcDecider.initialState());
    expect(vpcVisibleTo(state, 't-1')).toBe(true);
    expect(vpcVisibleTo(state, 't-2')).toBe(false);
    expect(vpcVisibleTo(vpcDecider.evolve(state, deleted), 't-1')).toBe(false);
  });
});
