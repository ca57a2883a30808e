/**
 * The networking read models this context serves its listings and GETs from: VPCs, subnets,
 * security groups and route tables. Each row keeps the aggregate's state (folded with the
 * domain's own `evolve`, so the read model cannot disagree with the decider) as jsonb, plus the
 * columns lists filter and page on. Deleted resources keep their row (status `deleted`); queries
 * show only available ones.
 */
import {
  evolveRouteTable,
  evolveSecurityGroup,
  evolveSubnet,
  evolveVpc,
  initialRouteTableState,
  initialSecurityGroupState,
  initialSubnetState,
  initialVpcState,
  ROUTE_TABLE_CATEGORY,
  SECURITY_GROUP_CATEGORY,
  SUBNET_CATEGORY,
  VPC_CATEGORY,
  type RouteTableEvent,
  type RouteTableState,
  type SecurityGroupEvent,
  type SecurityGroupState,
  type SubnetEvent,
  type SubnetState,
  type VpcEvent,
  type VpcState,
} from '../../src/network/domain';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import { defineProjection, type Projection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const VPCS_PROJECTION = 'network.vpcs';
export const SUBNETS_PROJECTION = 'network.subnets';
export const SECURITY_GROUPS_PROJECTION = 'network.security_groups';
export const ROUTE_TABLES_PROJECTION = 'network.route_tables';

export const VPC_EVENT_TYPES: readonly VpcEvent['type'][] = ['VpcCreated', 'VpcDeleted'];
export const SUBNET_EVENT_TYPES: readonly SubnetEvent['type'][] = [
  'SubnetCreated',
  'SubnetAddressAllocated',
  'SubnetAddressReleased',
  'SubnetDeleted',
];
export const SECURITY_GROUP_EVENT_TYPES: readonly SecurityGroupEvent['type'][] = [
  'SecurityGroupCreated',
  'SecurityGroupRuleAdded',
  'SecurityGroupRuleRemoved',
  'SecurityGroupAttached',
  'SecurityGroupDetached',
  'SecurityGroupDeleted',
];
export const ROUTE_TABLE_EVENT_TYPES: readonly RouteTableEvent['type'][] = [
  'RouteTableCreated',
  'RouteAdded',
  'RouteRemoved',
  'SubnetAssociated',
  'SubnetDisassociated',
  'RouteTableDeleted',
];

function asEvent<E>(event: RecordedEvent): E {
  return { type: event.type, data: event.data } as E;
}

export const vpcsProjection = defineProjection({
  name: VPCS_PROJECTION,
  version: 1,
  eventTypes: VPC_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_vpcs (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      status text NOT NULL,
      name text NOT NULL,
      cidr_block text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_vpcs_tenant ON network_vpcs (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_vpcs');
  },
  async apply(events, manager) {
    await foldInto<VpcState>(
      events,
      manager,
      'network_vpcs',
      (e) => idInStream(VPC_CATEGORY, e.streamId),
      initialVpcState,
      (s, e) => evolveVpc(s, asEvent(e)),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_vpcs (id, tenant_id, status, name, cidr_block, state, revision,
             created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, name = EXCLUDED.name,
             state = EXCLUDED.state, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.status,
            s.name,
            s.cidrBlock,
            JSON.stringify(s),
            revision,
            s.createdAt ?? createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const subnetsProjection = defineProjection({
  name: SUBNETS_PROJECTION,
  version: 1,
  eventTypes: SUBNET_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_subnets (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      vpc_id uuid NOT NULL,
      status text NOT NULL,
      cidr_block text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_subnets_vpc ON network_subnets (vpc_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_subnets');
  },
  async apply(events, manager) {
    await foldInto<SubnetState>(
      events,
      manager,
      'network_subnets',
      (e) => idInStream(SUBNET_CATEGORY, e.streamId),
      initialSubnetState,
      (s, e) => evolveSubnet(s, asEvent(e)),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_subnets (id, tenant_id, vpc_id, status, cidr_block, state, revision,
             created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.vpcId,
            s.status,
            s.cidrBlock,
            JSON.stringify(s),
            revision,
            s.createdAt ?? createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const securityGroupsProjection = defineProjection({
  name: SECURITY_GROUPS_PROJECTION,
  version: 1,
  eventTypes: SECURITY_GROUP_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_security_groups (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      vpc_id uuid NOT NULL,
      status text NOT NULL,
      name text NOT NULL,
      is_default boolean NOT NULL,
      member_ids uuid[] NOT NULL DEFAULT '{}',
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_security_groups_vpc ON network_security_groups (vpc_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_security_groups');
  },
  async apply(events, manager) {
    await foldInto<SecurityGroupState>(
      events,
      manager,
      'network_security_groups',
      (e) => idInStream(SECURITY_GROUP_CATEGORY, e.streamId),
      initialSecurityGroupState,
      (s, e) => evolveSecurityGroup(s, asEvent(e)),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_security_groups (id, tenant_id, vpc_id, status, name, is_default,
             member_ids, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, name = EXCLUDED.name,
             member_ids = EXCLUDED.member_ids, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.vpcId,
            s.status,
            s.name,
            s.isDefault,
            s.members,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const routeTablesProjection = defineProjection({
  name: ROUTE_TABLES_PROJECTION,
  version: 1,
  eventTypes: ROUTE_TABLE_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_route_tables (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      vpc_id uuid NOT NULL,
      status text NOT NULL,
      is_main boolean NOT NULL,
      subnet_ids uuid[] NOT NULL DEFAULT '{}',
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_route_tables_vpc ON network_route_tables (vpc_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_route_tables');
  },
  async apply(events, manager) {
    await foldInto<RouteTableState>(
      events,
      manager,
      'network_route_tables',
      (e) => idInStream(ROUTE_TABLE_CATEGORY, e.streamId),
      initialRouteTableState,
      (s, e) => evolveRouteTable(s, asEvent(e)),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_route_tables (id, tenant_id, vpc_id, status, is_main, subnet_ids,
             state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
             subnet_ids = EXCLUDED.subnet_ids, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.vpcId,
            s.status,
            s.isMain,
            s.subnetIds,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

/** The networking read models (the app's projection list spreads these). */
export const NETWORK_PROJECTIONS: readonly Projection[] = [
  vpcsProjection,
  subnetsProjection,
  securityGroupsProjection,
  routeTablesProjection,
];
