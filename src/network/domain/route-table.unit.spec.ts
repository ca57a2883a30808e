import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  routesTargeting,
  routeTableDecider,
  type AddRoute,
  type CreateRouteTable,
  type Route,
  type RouteTableEvent,
} from './route-table';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'rtb-1';

const create = (overrides: Partial<CreateRouteTable> = {}): CreateRouteTable => ({
  type: 'CreateRouteTable',
  routeTableId: ID,
  tenantId: 't-1',
  vpc: { vpcId: 'vpc-1', cidrBlock: '10.0.0.0/16' },
  name: 'main',
  isMain: true,
  localRouteId: 'rt-local',
  existingMainTableId: null,
  now: NOW,
  ...overrides,
});
const local: Route = {
  routeId: 'rt-local',
  destinationCidr: '10.0.0.0/16',
  targetType: 'local',
  targetId: null,
};
const createdEvents = (isMain = true, name = 'main'): RouteTableEvent[] => [
  {
    type: 'RouteTableCreated',
    data: { routeTableId: ID, tenantId: 't-1', vpcId: 'vpc-1', name, isMain, at: AT },
  },
  { type: 'RouteAdded', data: { routeTableId: ID, route: local, at: AT } },
];
const toIgw: Route = {
  routeId: 'rt-1',
  destinationCidr: '0.0.0.0/0',
  targetType: 'igw',
  targetId: 'igw-1',
};
const added = (route: Route): RouteTableEvent => ({
  type: 'RouteAdded',
  data: { routeTableId: ID, route, at: AT },
});
const addRoute = (overrides: Partial<AddRoute> = {}): AddRoute => ({
  type: 'AddRoute',
  routeId: 'rt-1',
  destinationCidr: '0.0.0.0/0',
  targetType: 'igw',
  targetId: 'igw-1',
  now: NOW,
  ...overrides,
});

describe('route table decider', () => {
  it('creates a table with the local route for the VPC block', () => {
    spec(routeTableDecider).given([]).when(create()).then(createdEvents());
  });

  it('a second main table is 409', () => {
    spec(routeTableDecider)
      .given([])
      .when(create({ existingMainTableId: 'rtb-0' }))
      .thenThrows('conflict', /already has a main route table/);
  });

  it('adds a route; the same destination twice is 409, the same route id repeated a no-op', () => {
    spec(routeTableDecider)
      .given(createdEvents())
      .when(addRoute())
      .then([added(toIgw)]);
    spec(routeTableDecider)
      .given([...createdEvents(), added(toIgw)])
      .when(addRoute())
      .then([]);
    spec(routeTableDecider)
      .given([...createdEvents(), added(toIgw)])
      .when(addRoute({ routeId: 'rt-2', targetType: 'nat', targetId: 'nat-1' }))
      .thenThrows('conflict', /already has a route for 0.0.0.0\/0/);
    spec(routeTableDecider)
      .given(createdEvents())
      .when(
        addRoute({
          routeId: 'rt-2',
          destinationCidr: '10.0.0.0/16',
          targetType: 'peering',
          targetId: 'pcx-1',
        }),
      )
      .thenThrows('conflict', /\(local\)/);
  });

  it.each<[string, Partial<AddRoute>, RegExp]>([
    ['a second local route', { targetType: 'local' }, /target_type/],
    ['an unknown target type', { targetType: 'vpn' }, /target_type/],
    ['no target id', { targetId: '' }, /target_id/],
    ['a bad destination', { destinationCidr: '0.0.0.1/0' }, /destination_cidr/],
  ])('refuses %s (400)', (_what, overrides, message) => {
    spec(routeTableDecider)
      .given(createdEvents())
      .when(addRoute(overrides))
      .thenThrows('validation_error', message);
  });

  it('removes a route, never the local one; an unknown route is 404', () => {
    const remove = (routeId: string) => ({ type: 'RemoveRoute' as const, routeId, now: NOW });
    spec(routeTableDecider)
      .given([...createdEvents(), added(toIgw)])
      .when(remove('rt-1'))
      .then([{ type: 'RouteRemoved', data: { routeTableId: ID, route: toIgw, at: AT } }]);
    spec(routeTableDecider)
      .given(createdEvents())
      .when(remove('rt-local'))
      .thenThrows('invalid_state', /local route/);
    spec(routeTableDecider).given(createdEvents()).when(remove('rt-9')).thenThrows('not_found');
  });

  it('associates and disassociates subnets idempotently', () => {
    const associated: RouteTableEvent = {
      type: 'SubnetAssociated',
      data: { routeTableId: ID, subnetId: 'sub-1', at: AT },
    };
    const associate = { type: 'AssociateSubnet' as const, subnetId: 'sub-1', now: NOW };
    const disassociate = { type: 'DisassociateSubnet' as const, subnetId: 'sub-1', now: NOW };
    spec(routeTableDecider)
      .given(createdEvents(false, 'custom'))
      .when(associate)
      .then([associated]);
    spec(routeTableDecider)
      .given([...createdEvents(false, 'custom'), associated])
      .when(associate)
      .then([]);
    spec(routeTableDecider)
      .given([...createdEvents(false, 'custom'), associated])
      .when(disassociate)
      .then([
        { type: 'SubnetDisassociated', data: { routeTableId: ID, subnetId: 'sub-1', at: AT } },
      ]);
    spec(routeTableDecider).given(createdEvents(false, 'custom')).when(disassociate).then([]);
  });

  it('the main table cannot be deleted (409 invalid_state) except with its VPC', () => {
    const del = (withVpc = false) => ({ type: 'DeleteRouteTable' as const, withVpc, now: NOW });
    const deleted: RouteTableEvent = {
      type: 'RouteTableDeleted',
      data: { routeTableId: ID, vpcId: 'vpc-1', at: AT },
    };
    spec(routeTableDecider)
      .given(createdEvents())
      .when(del())
      .thenThrows('invalid_state', /main route table/);
    spec(routeTableDecider).given(createdEvents()).when(del(true)).then([deleted]);
    spec(routeTableDecider).given(createdEvents(false, 'custom')).when(del()).then([deleted]);
    spec(routeTableDecider)
      .given([
        ...createdEvents(false, 'custom'),
        { type: 'SubnetAssociated', data: { routeTableId: ID, subnetId: 'sub-1', at: AT } },
      ])
      .when(del())
      .thenThrows('dependency_violation', /sub-1/);
    spec(routeTableDecider)
      .given([...createdEvents(false, 'custom'), deleted])
      .when(del())
      .thenThrows('not_found');
  });

  it('lists the routes that point at a target', () => {
    const state = [...createdEvents(), added(toIgw)].reduce(
      routeTableDecider.evolve,
      routeTableDecider.initialState(),
    );
    expect(routesTargeting(state, 'igw', 'igw-1')).toEqual([toIgw]);
    expect(routesTargeting(state, 'igw', 'igw-2')).toEqual([]);
  });
});
